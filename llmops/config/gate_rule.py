"""The object form of a quality gate in `llmops_config.json`: a fixed threshold, a comparison with production, or both.

    "GATES": {
      "accuracy": ">= 0.6",                                     # the string form: a fixed threshold
      "macro_f1": {"threshold": "> 0.5",
                   "vs_production": {"margin": 0.05, "pass": ["better", "non-inferior"]}},
      "latency_p95": {"vs_production": {"margin": 0.2}}        # lower is better: 20% slower allowed
    }

`vs_production` compares the candidate with the model version that serves users, on the same lines, and gives
one of four verdicts; `pass` lists the verdicts that let the gate pass. `margin` is in the metric's units for
quality metrics, and relative (0.2 = 20% worse) for the cost and latency metrics, where lower is better.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from llmops.config.base import ConfigModel
from llmops.config.problems import key_path

VERDICTS = ("better", "non-inferior", "inconclusive", "worse")
Verdict = Literal["better", "non-inferior", "inconclusive", "worse"]
DEFAULT_PASS: tuple[Verdict, ...] = ("better", "non-inferior")
# Metrics no evaluation flow logs: the gateway's accounting of each run gives them (lower is better).
USAGE_METRICS = ("cost_per_line", "latency_p50", "latency_p95")


class VsProduction(ConfigModel):
    margin: float = Field(ge=0.0, description=(
        "How much worse than production still counts as non-inferior: in the metric's units for quality metrics "
        "(0.05 = 5 points of accuracy), relative for cost_per_line, latency_p50 and latency_p95 (0.2 = 20% more)"))
    pass_verdicts: list[Verdict] = Field(default_factory=lambda: list(DEFAULT_PASS), alias="pass",
                                         min_length=1, description=(
        "The verdicts that pass the gate: better, non-inferior, inconclusive, worse"))

    @field_validator("margin", mode="before")
    @classmethod
    def _int_is_a_number(cls, value: object) -> object:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


class GateRule(ConfigModel):
    threshold: str | None = Field(default=None, description="A fixed threshold, as the string form: '>= 0.6'")
    vs_production: VsProduction | None = None

    @model_validator(mode="after")
    def _something_to_check(self) -> GateRule:
        if self.threshold is None and self.vs_production is None:
            raise ValueError("gives neither 'threshold' nor 'vs_production'; give one or both")
        return self


def compares_with_production(gates: Mapping[str, object]) -> bool:
    """True when a gate of the env has a vs_production rule."""
    return any(isinstance(rule, GateRule) and rule.vs_production is not None for rule in gates.values())


def validated_rules(gates: object) -> object:
    """GATES with each object entry validated into a GateRule (strings are left to the string form's check).
    Every problem of every entry is raised at once, each with its key path under GATES."""
    if not isinstance(gates, dict):
        return gates
    problems: list[str] = []
    out: dict[Any, Any] = {}
    for metric, rule in gates.items():
        if not isinstance(rule, dict):
            out[metric] = rule
            continue
        try:
            out[metric] = GateRule.model_validate(rule)
        except ValidationError as error:
            for err in error.errors():
                where = ".".join(filter(None, [str(metric), key_path(tuple(err["loc"]))]))
                problems.append(f"{where}: {_message(err)}")
    if problems:
        raise ValueError("; ".join(problems))
    return out


def _message(err: Any) -> str:
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        return "unknown key; valid keys: threshold, vs_production (and in vs_production: margin, pass)"
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        return f"{json.dumps(value)} is not a verdict; use {', '.join(VERDICTS)}"
    if kind in ("float_type", "float_parsing"):
        return f"expected a number, got {json.dumps(value)[:60]}"
    if kind == "greater_than_equal":
        return (f"must be {err['ctx']['ge']} or more (the worst acceptable difference, as a positive number), "
                f"got {value}")
    if kind == "too_short":
        return "must name at least one verdict"
    message = str(err["msg"])
    return message.removeprefix("Value error, ")
