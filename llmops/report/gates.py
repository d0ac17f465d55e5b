"""Quality gates: thresholds on metrics, checked on the baseline and on the best variant.

Gates come from `llmops_config.json`, per environment, as {"accuracy": ">= 0.6", "macro_f1": "> 0.5"}.
Each gate is checked for the baseline and for the best variant (the highest value of the primary
metric: the first gate's metric) on every dataset and every evaluation flow that reports the metric.
A gate whose metric no evaluation flow reports fails, so a typo cannot pass silently. A check without a
value says why: most often every line failed, and then the flow logged no metric at all; or the evaluation
that would report it was skipped, its data having no column it reads.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from llmops.config.gate_rule import GateRule
from llmops.errors import ConfigError
from llmops.report.comparison import Comparison, MetricComparison, VariantFigure
from llmops.report.formatting import exact
from llmops.report.model import EvaluationRun

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    # Metrics are floats computed by flows: equality allows for rounding in the last digits.
    "==": lambda value, threshold: math.isclose(value, threshold, rel_tol=1e-9, abs_tol=1e-12),
}
_EXPRESSION = re.compile(r"^\s*(>=|<=|==|>|<)\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*$")
_VALID_FORM = (
    'write \'<operator> <number>\' with operator one of >=, >, <=, <, == (for example "accuracy": ">= 0.6")'
)
EVERY_LINE_FAILED = "no value (every line failed)"


@dataclass(frozen=True)
class Gate:
    metric: str
    operator: str
    threshold: float

    @property
    def expression(self) -> str:
        return f"{self.operator} {exact(self.threshold)}"

    def passes(self, value: float | None) -> bool:
        return value is not None and _COMPARE[self.operator](value, self.threshold)


@dataclass(frozen=True)
class GateResult:
    """One gate checked on one variant, for one evaluation flow and dataset."""

    metric: str
    variant_label: str
    value: float | None  # None when the metric is missing for this variant
    threshold: float
    passed: bool
    operator: str
    role: str  # "baseline", "best" or "baseline, best"; "" when no variant had a value to rank
    eval_flow: str  # several, comma-separated, when no variant had a value to rank
    dataset: str
    note: str = ""  # why there is no value; set whenever value is None

    @property
    def expression(self) -> str:
        return f"{self.operator} {exact(self.threshold)}"

    @property
    def value_text(self) -> str:
        return shown_value(self.value, self.note)

    @property
    def checked_on(self) -> str:
        """The variant checked or, when no variant had a value to rank, the evaluation flows."""
        return self.variant_label or self.eval_flow


def shown_value(value: float | None, note: str) -> str:
    """The value a check saw or, when it saw none, why."""
    return exact(value) if value is not None else note or "missing"


def parse_gates(spec: Mapping[str, object], where: str = "llmops_config.json: gates") -> tuple[Gate, ...]:
    """Parse {"metric": "<op> <number>"}; every bad entry is reported at once as a ConfigError."""
    gates, problems = [], []
    for metric, rule in spec.items():
        if _object_form(rule) and threshold_of(rule) is None:  # only vs_production: production_gates.py checks it
            continue
        expression = threshold_of(rule)
        match = _EXPRESSION.match(expression) if isinstance(expression, str) else None
        if not isinstance(metric, str) or not metric.strip():
            problems.append(f"{where}: {metric!r} is not a metric name; use a name an evaluation flow logs")
        elif match is None:
            problems.append(f"{where}.{metric}: {expression!r} is not a gate; {_VALID_FORM}")
        else:
            gates.append(Gate(metric, match.group(1), float(match.group(2))))
    if problems:
        raise ConfigError(problems)
    return tuple(gates)


def threshold_of(rule: object) -> object:
    """The fixed threshold of a gate's rule: the string form itself, or the object form's "threshold" (None when it
    has none)."""
    if isinstance(rule, GateRule):
        return rule.threshold
    if _object_form(rule) and isinstance(rule, Mapping):
        return rule.get("threshold")
    return rule


def _object_form(rule: object) -> bool:
    return isinstance(rule, GateRule) or (
        isinstance(rule, Mapping) and bool(rule) and set(rule) <= {"threshold", "vs_production"})


def evaluate_gates(gates: Sequence[Gate], comparison: Comparison,
                   skipped: Sequence[object] = ()) -> tuple[GateResult, ...]:
    """Check every gate on the baseline and the best variant of every dataset. `skipped`: the evaluations the
    env skipped (each says why as its text), named by a gate whose metric no flow reported."""
    results: list[GateResult] = []
    for gate in gates:
        groups = comparison.for_metric(gate.metric)
        if not groups:
            results.append(_unreported(gate, comparison, skipped))
            continue
        for group in groups:
            for label, role in checked_variants(comparison, group.dataset):
                figure = group.figure(label)
                value = figure.value if figure else None
                note = "" if value is not None else _no_value(figure, label, group)
                results.append(_result(gate, label, value, role, group.eval_flow, group.dataset, note))
    return tuple(results)


def _unreported(gate: Gate, comparison: Comparison, skipped: Sequence[object]) -> GateResult:
    """The check of a metric no flow logged: flows whose every line failed logged nothing, and skipped
    evaluations ran not at all, so name them."""
    by_flow: dict[str, list[EvaluationRun]] = {}
    for evaluation in comparison.evaluations:
        by_flow.setdefault(evaluation.eval_flow, []).append(evaluation)
    silent = {flow: runs for flow, runs in by_flow.items() if all(run.every_line_failed for run in runs)}
    if silent:
        datasets = dict.fromkeys(run.dataset for runs in silent.values() for run in runs)
        return _result(gate, "", None, "", ", ".join(silent), ", ".join(datasets), EVERY_LINE_FAILED)
    reported = sorted({m.metric for m in comparison.metrics})
    note = f"no evaluation flow reports '{gate.metric}' (reported: {', '.join(reported) or 'none'})"
    note += "".join(f"; {skip}" for skip in skipped)
    return _result(gate, "", None, role="", eval_flow="", dataset="", note=note)


def _no_value(figure: VariantFigure | None, label: str, group: MetricComparison) -> str:
    if figure is None:
        return f"variant '{label}' was not evaluated by '{group.eval_flow}'"
    if figure.evaluation.every_line_failed:
        return EVERY_LINE_FAILED
    return f"no value ('{group.eval_flow}' logged none for this variant)"


def _result(
    gate: Gate, variant_label: str, value: float | None, role: str, eval_flow: str, dataset: str, note: str
) -> GateResult:
    return GateResult(
        metric=gate.metric,
        variant_label=variant_label,
        value=value,
        threshold=gate.threshold,
        passed=gate.passes(value),
        operator=gate.operator,
        role=role,
        eval_flow=eval_flow,
        dataset=dataset,
        note=note,
    )


def checked_variants(comparison: Comparison, dataset: str) -> list[tuple[str, str]]:
    """(variant label, role) of the variants a gate checks on `dataset`: the baseline and the best, once when they
    are the same variant; the baseline alone when no variant was ranked best there."""
    best, baseline = comparison.best.get(dataset), comparison.baseline_label
    if best is None:
        return [(baseline, "baseline")] if baseline else []
    if baseline is None or best == baseline:
        return [(best, "baseline, best" if baseline else "best")]
    return [(baseline, "baseline"), (best, "best")]


def failure_message(results: Sequence[GateResult]) -> str | None:
    """The text of the GateFailed error the caller raises, or None when every gate passed."""
    failed = [r for r in results if not r.passed]
    if not failed:
        return None
    lines = [f"{len(failed)} of {len(results)} quality gate checks failed:"]
    for result in failed:
        if not result.variant_label:
            on = f" on {result.checked_on}" if result.checked_on else ""
            lines.append(f"  {result.metric} {result.expression}{on}: {result.note}")
            continue
        where = f"{result.eval_flow}, dataset '{result.dataset}'"
        lines.append(
            f"  {result.metric} of variant '{result.variant_label}' ({result.role}; {where}): "
            f"{result.value_text}, needs {result.expression}"
        )
    lines.append(
        "Improve the flow or its prompts, or change the gates in llmops_config.json if a threshold is wrong."
    )
    return "\n".join(lines)
