"""`llmops_config.json`: one entry per environment (pr, dev, prod...)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from llmops.config.base import ConfigFile, ConfigModel
from llmops.config.gate_rule import GateRule, validated_rules

GATE_FORM = "'<op> <number>' with op one of >=, >, <=, <, == (for example '>= 0.6')"


class EnvConfig(ConfigModel):
    # Field names of the original template, kept so its use-case folders load unchanged.
    ENV_NAME: str = Field(min_length=1)
    RUNTIME_NAME: str = ""
    KEYVAULT_NAME: str = ""
    RESOURCE_GROUP_NAME: str = ""
    WORKSPACE_NAME: str = ""
    STANDARD_FLOW_PATH: str = Field(min_length=1)
    EVALUATION_FLOW_PATH: str = ""
    # Settings this project adds; optional, with defaults.
    BACKEND: Literal["local", "azureml"] = "local"
    PROVIDER: Literal["auto", "azure_openai", "openai", "openai_compatible", "embedded", "replay"] = "auto"
    GATES: dict[str, str | GateRule] = Field(default_factory=dict, description=(
        "metric -> a fixed threshold ('>= 0.6') or an object with 'threshold' and/or 'vs_production' "
        "(configs/schemas and the README's 'Gates against production')"))
    PRODUCTION_ENV: str = Field(default="", description=(
        "The env whose endpoint serves users, for vs_production gates; empty: this env when "
        "deployment_config.json names an endpoint for it, else dev"))
    FAILED_LINE_THRESHOLD: float = Field(default=0.2, ge=0.0, le=1.0)
    CONCURRENCY: int = Field(default=8, ge=1, le=256, description=(
        "LLM calls in flight at once per LLM service (the embedded model takes one at a time); runs keep "
        "half again as many lines going, so the service never waits for a line's other work"))
    TRIALS: int = Field(default=1, ge=1, le=100, description=(
        "Answers per line: each line runs TRIALS times at the flow's configured temperature, each trial a run of "
        "its own with its own cached LLM answers (a rerun calls no LLM; calls at temperature 0 have one answer, "
        "shared by the trials). The report gives per-line pass rates, flaky lines, pass@k and pass^k, and "
        "intervals that treat a line's trials as one cluster"))
    POST_PROD_EVALUATION_FLOW_PATH: str = ""
    PROMPTY_VARIANTS: list[str] = Field(default_factory=list, description=(
        "Variants of a .prompty STANDARD_FLOW_PATH: sibling .prompty files (names only, e.g. concise.prompty), "
        "each run by the experiment beside the flow's own file, the default"))
    # Where an azureml env's jobs run: a named compute cluster, or serverless compute of one VM size.
    COMPUTE_NAME: str = Field(default="", description=(
        "Azure ML compute cluster that runs this env's jobs (BACKEND azureml); empty: serverless compute"))
    INSTANCE_TYPE: str = Field(default="", description=(
        "VM size of serverless compute (BACKEND azureml, no COMPUTE_NAME); empty: Standard_DS3_v2"))
    # How an azureml env's step shards its lines: nodes x worker processes, each running lines as a laptop does.
    INSTANCE_COUNT: int = Field(default=1, ge=1, le=100, description=(
        "Nodes an azureml env's experiment or evaluation job runs on (BACKEND azureml); its lines are sharded "
        "over them in mini-batches"))
    MAX_CONCURRENCY_PER_INSTANCE: int = Field(default=1, ge=1, le=64, description=(
        "Worker processes per node of an azureml env's job (BACKEND azureml); each runs its mini-batch's lines "
        "CONCURRENCY LLM calls at a time"))

    @field_validator("FAILED_LINE_THRESHOLD", mode="before")
    @classmethod
    def _int_is_a_number(cls, value: object) -> object:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("GATES", mode="before")
    @classmethod
    def _gate_rules(cls, gates: object) -> object:
        return validated_rules(gates)

    @field_validator("GATES")
    @classmethod
    def _gates_parse(cls, gates: dict[str, str | GateRule]) -> dict[str, str | GateRule]:
        for metric, rule in gates.items():
            expression = rule.threshold if isinstance(rule, GateRule) else rule
            if expression is not None and parse_gate(expression) is None:
                where = f"{metric}.threshold" if isinstance(rule, GateRule) else f"gate for '{metric}'"
                raise ValueError(f"{where} is '{expression}'; expected {GATE_FORM}")
        return gates

    @property
    def evaluation_flow_paths(self) -> list[str]:
        return [p.strip() for p in self.EVALUATION_FLOW_PATH.split(",") if p.strip()]


class LlmopsConfig(ConfigFile):
    envs: list[EnvConfig] = Field(min_length=1)

    @field_validator("envs")
    @classmethod
    def _unique_env_names(cls, envs: list[EnvConfig]) -> list[EnvConfig]:
        seen: set[str] = set()
        for env in envs:
            if env.ENV_NAME in seen:
                raise ValueError(f"duplicate ENV_NAME '{env.ENV_NAME}'; each environment appears once")
            seen.add(env.ENV_NAME)
        return envs

    def env(self, name: str) -> EnvConfig | None:
        return next((e for e in self.envs if e.ENV_NAME == name), None)

    @property
    def env_names(self) -> list[str]:
        return [e.ENV_NAME for e in self.envs]


OPERATORS = (">=", "<=", "==", ">", "<")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def parse_gate(expression: str) -> tuple[str, float] | None:
    """'>= 0.6' -> ('>=', 0.6); None when the expression is not of the documented form."""
    text = expression.strip()
    for op in OPERATORS:
        if text.startswith(op):
            number = text[len(op):].strip()
            return (op, float(number)) if _NUMBER.match(number) else None
    return None
