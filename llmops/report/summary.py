"""summary.json: the whole verdict of an experiment for machines; summary.md is rendered from it.

Keys are stable (SCHEMA_VERSION changes when one is renamed or removed): names that vary, such as
datasets and metrics, are values in lists, never keys.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from llmops.report.comparison import Comparison, MetricComparison, VariantFigure
from llmops.report.failures import FailureGroup
from llmops.report.gates import GateResult
from llmops.report.model import ExperimentRun, UsageTotals
from llmops.report.stats import METHOD_NOTE, PairedDelta
from llmops.report.trial_summary import trial_summary

SCHEMA_VERSION = 1


def marker(use_case: str, env: str) -> str:
    """The hidden first line of summary.md, by which a PR bot finds and updates its own comment."""
    return f"<!-- llmops-report:{use_case}:{env} -->"


def build_summary(
    use_case: str,
    env: str,
    created: datetime,
    folder_name: str,
    comparison: Comparison,
    gate_results: tuple[GateResult, ...],
    failures: tuple[FailureGroup, ...],
    skipped_evaluations: list[str] | None = None,
) -> dict[str, Any]:
    runs = comparison.runs
    failed_gates = sum(1 for r in gate_results if not r.passed)
    return {
        "schema_version": SCHEMA_VERSION,
        "marker": marker(use_case, env),
        "use_case": use_case,
        "env": env,
        "created_utc": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "report_folder": folder_name,
        "datasets": [
            {"name": name, "version": version}
            for name, version in dict.fromkeys((r.dataset, r.dataset_version) for r in runs)
        ],
        "evaluation_datasets": list(comparison.datasets),
        "variant_count": len(dict.fromkeys(r.variant_label for r in runs)),
        "primary_metric": comparison.primary_metric,
        "baseline_variant": comparison.baseline_label,
        "best_variants": [{"dataset": d, "variant_label": label} for d, label in comparison.best.items()],
        "gates": {
            "passed": failed_gates == 0,
            "checked": len(gate_results),
            "failed": failed_gates,
            "results": [_gate(r) for r in gate_results],
        },
        "metrics": [_metric(m, comparison, gate_results) for m in _primary_first(comparison)],
        "lines": {
            "total": sum(len(r.lines) for r in runs),
            "failed": sum(r.failed_lines for r in runs),
            "evaluation_failed": sum(e.failed_lines for e in comparison.evaluations),
        },
        "failures": [_failure(group) for group in failures],
        "skipped_evaluations": skipped_evaluations or [],
        "usage": _usage_totals([r.usage for r in runs if r.usage is not None]),
        "runs": [_run(r) for r in runs],
        "method": METHOD_NOTE,
        "trials": trial_summary(comparison),  # None with one trial per line
    }


def _primary_first(comparison: Comparison) -> list[MetricComparison]:
    return sorted(comparison.metrics, key=lambda m: m.metric != comparison.primary_metric)


def _metric(group: MetricComparison, comparison: Comparison, gates: tuple[GateResult, ...]) -> dict[str, Any]:
    best = comparison.best.get(group.dataset)
    return {
        "metric": group.metric,
        "eval_flow": group.eval_flow,
        "dataset": group.dataset,
        "is_primary": group.metric == comparison.primary_metric,
        "has_line_values": group.has_line_values,
        "variants": [_figure(f, group, best == f.label, gates) for f in group.variants],
    }


def _figure(
    figure: VariantFigure, group: MetricComparison, is_best: bool, gates: tuple[GateResult, ...]
) -> dict[str, Any]:
    estimate = figure.estimate
    return {
        "variant_label": figure.label,
        "run_id": figure.run.run_id,
        "eval_run_id": figure.evaluation.run_id,
        "is_baseline": figure.run.is_baseline,
        "is_best": is_best,
        "value": _number(figure.value),
        "ci_low": _number(estimate.ci_low),
        "ci_high": _number(estimate.ci_high),
        "ci_method": estimate.method,
        "n": estimate.n,
        "note": estimate.note,
        "delta": _delta(figure.delta) if figure.delta is not None else None,
        "gates": [
            {"expression": r.expression, "passed": r.passed}
            for r in gates
            if r.metric == group.metric
            and r.variant_label == figure.label
            and r.eval_flow == group.eval_flow
            and r.dataset == group.dataset
        ],
    }


def _delta(delta: PairedDelta) -> dict[str, Any]:
    return {
        "mean": _number(delta.mean),
        "ci_low": _number(delta.ci_low),
        "ci_high": _number(delta.ci_high),
        "n_pairs": delta.n_pairs,
        "significant": delta.significant,
        "verdict": delta.verdict,
        "mcnemar_p": _number(delta.mcnemar_p),
        "note": delta.note,
    }


def _gate(result: GateResult) -> dict[str, Any]:
    return {
        "metric": result.metric,
        "expression": result.expression,
        "operator": result.operator,
        "threshold": result.threshold,
        "variant_label": result.variant_label,
        "role": result.role,
        "eval_flow": result.eval_flow,
        "dataset": result.dataset,
        "value": _number(result.value),
        "passed": result.passed,
        "note": result.note,
    }


def _failure(group: FailureGroup) -> dict[str, Any]:
    example = group.example
    return {
        "cause": group.cause,
        "lines": group.count,
        "fix": group.fix,
        "follows_from_other_failures": group.consequence,
        "example": {"variant_label": example.run, "dataset": example.dataset, "line_index": example.index},
    }


def _usage(usage: UsageTotals | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    return {
        "calls": usage.calls,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cost_usd": usage.cost_usd,
        "p50_latency_ms": _number(usage.p50_latency_ms),
        "p95_latency_ms": _number(usage.p95_latency_ms),
        "cache_hits": usage.cache_hits,
    }


def _usage_totals(usages: list[UsageTotals]) -> dict[str, Any] | None:
    if not usages:
        return None
    return {
        "runs_with_usage": len(usages),
        "calls": sum(u.calls for u in usages),
        "prompt_tokens": sum(u.prompt_tokens for u in usages),
        "completion_tokens": sum(u.completion_tokens for u in usages),
        "cost_usd": math.fsum(u.cost_usd for u in usages),
        "cache_hits": sum(u.cache_hits for u in usages),
    }


def _run(run: ExperimentRun) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "name": run.name,
        "variant_label": run.variant_label,
        "variant": dict(run.variant),
        "is_baseline": run.is_baseline,
        "dataset": run.dataset,
        "dataset_version": run.dataset_version,
        "lines": len(run.lines),
        "failed_lines": run.failed_lines,
        "usage": _usage(run.usage),
        "trials": run.trials,
        "trial_run_ids": list(run.trial_run_ids) or [run.run_id],
    }


def _number(value: float | None) -> float | None:
    """JSON has no NaN or infinity: they become null like a missing value."""
    return None if value is None or not math.isfinite(value) else value
