"""Gates against production: the candidate's checked variants against the model version that serves users.

A gate's `vs_production` rule (llmops/config/gate_rule.py) is checked on the variants the fixed gates check (the
baseline and the best variant of each dataset), against production's run of the same dataset: for a quality
metric, every evaluation flow and dataset that reports it, paired line by line; for cost_per_line, latency_p50
and latency_p95, the runs' LLM calls (usage_metrics.py). Every check of the report is decided at once, with
Holm's correction (noninferiority.py). A check passes when its verdict is in the rule's `pass` list.

When nothing serves users yet (no endpoint, or no deployment taking traffic), there is nothing to be worse than:
every check passes and says so. When production serves but its runs on these lines are missing, every check fails
and says what to run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmops.config.gate_rule import USAGE_METRICS, GateRule
from llmops.report.comparison import Comparison, MetricComparison
from llmops.report.formatting import exact
from llmops.report.gates import Gate, GateResult, checked_variants
from llmops.report.model import EvaluationRun, ExperimentRun
from llmops.report.noninferiority import METHOD_NOTE, Contrast, Decision, PairedContrast, decide
from llmops.report.usage_metrics import RunCalls, UsageEstimate, estimate, saving_contrast


@dataclass(frozen=True)
class ProductionBaseline:
    """What production is and its runs on the candidate's lines (each with its evaluations)."""

    description: str  # "model mini_dev version 1 (deployment blue of endpoint mini, 90% of live traffic)"
    runs: tuple[ExperimentRun, ...] = ()
    evaluations: tuple[EvaluationRun, ...] = ()
    absent: str = ""  # set when nothing serves users: every check passes, saying this
    unavailable: str = ""  # set when production serves but its runs are missing: every check fails, saying this


@dataclass(frozen=True)
class ProductionCheck:
    metric: str
    variant_label: str
    role: str
    eval_flow: str  # "" for cost and latency
    dataset: str
    margin: float
    relative: bool  # the margin is relative (cost, latency) rather than in the metric's units
    pass_verdicts: tuple[str, ...]
    candidate: float | None
    production: float | None
    decision: Decision | None
    n: int  # paired lines (quality) or candidate calls (cost, latency)
    note: str = ""
    skipped: bool = False  # nothing in production: passes without a verdict

    @property
    def verdict(self) -> str:
        return self.decision.verdict if self.decision else ""

    @property
    def passed(self) -> bool:
        return self.skipped or (self.decision is not None and self.decision.verdict in self.pass_verdicts)


@dataclass(frozen=True)
class ProductionGates:
    production: str
    checks: tuple[ProductionCheck, ...]
    usage: tuple[tuple[str, str, UsageEstimate], ...] = field(default=())  # (variant, dataset, estimate)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


def rules_against_production(gates: Mapping[str, object]) -> dict[str, GateRule]:
    return {m: r for m, r in gates.items() if isinstance(r, GateRule) and r.vs_production is not None}


def _values_by_line(run: ExperimentRun, evaluation: EvaluationRun, metric: str) -> dict[int, float]:
    """Per-line values, the mean of a line's rows when it has several (repeated trials)."""
    rows: dict[int, list[float]] = {}
    for line, value in zip(run.lines, evaluation.line_values.get(metric, ()), strict=False):
        if value is not None and math.isfinite(value):
            rows.setdefault(line.index, []).append(float(value))
    return {index: math.fsum(values) / len(values) for index, values in rows.items()}


@dataclass
class _Pending:
    check: ProductionCheck
    contrast: Contrast | None


def check_against_production(gates: Mapping[str, object], comparison: Comparison, baseline: ProductionBaseline,
                             calls: Mapping[str, RunCalls]) -> ProductionGates | None:
    """Every vs_production check of the env's gates; None when no gate has one. `calls`: run id -> its calls."""
    rules = rules_against_production(gates)
    if not rules:
        return None
    pending: list[_Pending] = []
    for metric, rule in rules.items():
        assert rule.vs_production is not None
        margin, passes = rule.vs_production.margin, tuple(rule.vs_production.pass_verdicts)
        blank = ProductionCheck(metric, "", "", "", "", margin, metric in USAGE_METRICS, passes, None, None, None, 0)
        if baseline.absent or baseline.unavailable:
            note = baseline.absent or baseline.unavailable
            pending.append(_Pending(_with(blank, note=note, skipped=bool(baseline.absent)), None))
        elif metric in USAGE_METRICS:
            pending += _usage_checks(blank, comparison, baseline, calls)
        else:
            pending += _quality_checks(blank, comparison, baseline)
    contrasts = [p for p in pending if p.contrast is not None]
    decisions = decide([p.contrast for p in contrasts if p.contrast is not None],
                       [p.check.margin for p in contrasts])
    decided = {id(p): d for p, d in zip(contrasts, decisions, strict=True)}
    checks = tuple(_with(p.check, decision=decided.get(id(p))) for p in pending)
    return ProductionGates(baseline.description or baseline.absent, checks, _usage_table(rules, comparison,
                                                                                     baseline, calls))


def _with(check: ProductionCheck, **changes: Any) -> ProductionCheck:
    from dataclasses import replace

    return replace(check, **changes)


def _quality_checks(blank: ProductionCheck, comparison: Comparison, baseline: ProductionBaseline) -> list[_Pending]:
    groups = comparison.for_metric(blank.metric)
    if not groups:
        reported = sorted({m.metric for m in comparison.metrics})
        note = f"no evaluation flow reports '{blank.metric}' (reported: {', '.join(reported) or 'none'})"
        return [_Pending(_with(blank, note=note), None)]
    return [_quality_check(blank, group, label, role, baseline)
            for group in groups for label, role in checked_variants(comparison, group.dataset)]


def _quality_check(blank: ProductionCheck, group: MetricComparison, label: str, role: str,
                   baseline: ProductionBaseline) -> _Pending:
    check = _with(blank, variant_label=label, role=role, eval_flow=group.eval_flow, dataset=group.dataset)
    figure = group.figure(label)
    production = next(((r, e) for e in baseline.evaluations for r in baseline.runs
                       if e.experiment_run_id == r.run_id and e.eval_flow == group.eval_flow
                       and e.dataset == group.dataset), None)
    if figure is None or production is None:
        missing = f"variant '{label}'" if figure is None else "production"
        return _Pending(_with(check, note=f"{missing} was not evaluated by '{group.eval_flow}' on this dataset"), None)
    if blank.metric not in figure.evaluation.line_values:
        return _Pending(_with(check, candidate=figure.value, note="no per-line values to pair"), None)
    candidate = _values_by_line(figure.run, figure.evaluation, blank.metric)
    prod = _values_by_line(production[0], production[1], blank.metric)
    common = sorted(set(candidate) & set(prod))
    contrast = PairedContrast(tuple(candidate[i] - prod[i] for i in common))
    check = _with(check, n=len(common), candidate=_mean([candidate[i] for i in common]),
                  production=_mean([prod[i] for i in common]))
    if not common:
        return _Pending(_with(check, note="no line has a value in both"), None)
    return _Pending(check, contrast)


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def _usage_runs(comparison: Comparison) -> list[tuple[ExperimentRun, str]]:
    """The candidate's runs whose cost and latency are checked, with their role: the checked variants'."""
    roles: dict[str, list[str]] = {}
    for dataset in comparison.datasets or ("",):
        for label, role in checked_variants(comparison, dataset):
            for part in role.split(", "):
                if part not in roles.setdefault(label, []):
                    roles[label].append(part)
    if not roles and comparison.runs:
        roles[comparison.runs[0].variant_label] = ["first"]
    return [(run, ", ".join(roles[run.variant_label])) for run in comparison.runs if run.variant_label in roles]


def _usage_checks(blank: ProductionCheck, comparison: Comparison, baseline: ProductionBaseline,
                  calls: Mapping[str, RunCalls]) -> list[_Pending]:
    out = []
    for run, role in _usage_runs(comparison):
        check = _with(blank, variant_label=run.variant_label, role=role, dataset=run.dataset)
        production = next((r for r in baseline.runs if r.dataset == run.dataset), None)
        if production is None:
            out.append(_Pending(_with(check, note="production has no run on this dataset"), None))
            continue
        cand = calls.get(run.run_id, RunCalls(len(run.lines), ()))
        prod = calls.get(production.run_id, RunCalls(len(production.lines), ()))
        cand_est, prod_est = estimate(blank.metric, cand), estimate(blank.metric, prod)
        check = _with(check, candidate=cand_est.value, production=prod_est.value, n=len(cand.calls))
        if cand_est.value is None or prod_est.value is None:
            side = "candidate" if cand_est.value is None else "production"
            out.append(_Pending(_with(check, note=f"{side}: {(cand_est if cand_est.value is None else prod_est).note}"),
                                None))
            continue
        out.append(_Pending(check, saving_contrast(blank.metric, cand, prod)))
    return out


def _usage_table(rules: Mapping[str, GateRule], comparison: Comparison, baseline: ProductionBaseline,
                 calls: Mapping[str, RunCalls]) -> tuple[tuple[str, str, UsageEstimate], ...]:
    metrics = [m for m in rules if m in USAGE_METRICS]
    rows = [(run.variant_label, run.dataset, estimate(m, calls.get(run.run_id, RunCalls(len(run.lines), ()))))
            for m in metrics for run, _ in _usage_runs(comparison)]
    rows += [(f"production: {run.variant_label}", run.dataset,
              estimate(m, calls.get(run.run_id, RunCalls(len(run.lines), ()))))
             for m in metrics for run in baseline.runs]
    return tuple(rows)


def usage_threshold_results(gates: Sequence[Gate], comparison: Comparison, calls: Mapping[str, RunCalls]
                            ) -> tuple[tuple[GateResult, ...], tuple[tuple[str, str, UsageEstimate], ...]]:
    """Fixed thresholds on cost_per_line, latency_p50 and latency_p95 of the checked variants' runs, as quality
    gate results; and the estimates with their intervals, (variant, dataset, UsageEstimate), for the report."""
    results: list[GateResult] = []
    shown: list[tuple[str, str, UsageEstimate]] = []
    for gate in gates:
        for run, role in _usage_runs(comparison):
            figure = estimate(gate.metric, calls.get(run.run_id, RunCalls(len(run.lines), ())))
            shown.append((run.variant_label, run.dataset, figure))
            results.append(GateResult(metric=gate.metric, variant_label=run.variant_label, value=figure.value,
                                      threshold=gate.threshold, passed=gate.passes(figure.value),
                                      operator=gate.operator, role=role, eval_flow="gateway accounting",
                                      dataset=run.dataset, note=figure.note))
    return tuple(results), tuple(shown)


def _number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def section_json(gates: ProductionGates | None,
                 usage: Sequence[tuple[str, str, UsageEstimate]]) -> dict[str, Any] | None:
    """summary.json's "against_production": the checks against production (when a gate has vs_production) and the
    cost and latency figures of the runs gated on them; None when the env gates neither."""
    rows = {(variant, dataset, e.metric): e for variant, dataset, e in [*(gates.usage if gates else ()), *usage]}
    if gates is None and not rows:
        return None
    checks = gates.checks if gates else ()
    return {
        "production": gates.production if gates else None,
        "passed": gates.passed if gates else True,
        "method": METHOD_NOTE,
        "checks": [{
            "metric": c.metric, "variant_label": c.variant_label, "role": c.role, "eval_flow": c.eval_flow,
            "dataset": c.dataset, "margin": c.margin, "margin_is_relative": c.relative, "pass": list(c.pass_verdicts),
            "candidate": _number(c.candidate), "production": _number(c.production), "n": c.n,
            "improvement": _number(c.decision.estimate) if c.decision else None,
            "ci_low": _number(c.decision.low) if c.decision else None,
            "ci_high": _number(c.decision.high) if c.decision else None,
            "confidence_level": c.decision.level if c.decision else None,
            "holm_adjusted_p": c.decision.adjusted_p if c.decision else None,
            "verdict": c.verdict or None, "passed": c.passed,
            "note": "; ".join(filter(None, [c.note, c.decision.note if c.decision else ""])),
        } for c in checks],
        "usage": [{"variant_label": variant, "dataset": dataset, "metric": metric, "value": _number(e.value),
                   "ci_low": _number(e.ci_low), "ci_high": _number(e.ci_high), "calls": e.calls, "note": e.note}
                  for (variant, dataset, metric), e in rows.items()],
    }


def failure_lines(gates: ProductionGates) -> list[str]:
    failed = [c for c in gates.checks if not c.passed]
    lines = []
    for c in failed:
        where = ", ".join(filter(None, [f"variant '{c.variant_label}'" if c.variant_label else "", c.eval_flow,
                                        f"dataset '{c.dataset}'" if c.dataset else ""]))
        found = f"{c.verdict}" if c.verdict else "no verdict"
        if c.decision and c.decision.low is not None and c.decision.high is not None:
            found += (f" (improvement {_fmt(c.decision.estimate)}, {c.decision.level:.1%} interval "
                      f"[{_fmt(c.decision.low)}, {_fmt(c.decision.high)}], margin {exact(c.margin)})")
        note = "; ".join(filter(None, [c.note, c.decision.note if c.decision else ""]))
        lines.append(f"  {c.metric} vs production{f' ({where})' if where else ''}: {found}"
                     f"{f'; {note}' if note else ''}; passes on {', '.join(c.pass_verdicts)}")
    return lines


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:+.3f}"
