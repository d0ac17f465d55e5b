"""report.html: one self-contained page (inline CSS and SVG, no script, no external URL).

Everything from the runs, model outputs above all, is escaped by Jinja2's autoescape; the charts
escape their own labels and are inserted as markup.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmops.report import formatting as fmt
from llmops.report.charts import metric_chart
from llmops.report.comparison import Comparison, MetricComparison
from llmops.report.failures import RETRIED, example_text
from llmops.report.gates import GateResult
from llmops.report.judge_section import agreement_text
from llmops.report.production_render import html_section
from llmops.report.stats import METHOD_NOTE
from llmops.report.trials_html import trial_sections
from llmops.report.worst_lines import WorstLines, worst_lines

TEMPLATES = Path(__file__).parent / "templates"
MAX_TEXT_CHARS = 1200  # per input/output value in the worst-lines section


def render_html(summary: dict[str, Any], comparison: Comparison, gate_results: Sequence[GateResult],
                against_production: dict[str, Any] | None = None) -> str:
    # Jinja2 is imported here so that importing llmops.report (and the CLI's --help) stays fast.
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("report.html.jinja2").render(
        summary=summary,
        chart_sections=_chart_sections(comparison),
        metric_tables=_metric_tables(comparison),
        delta_rows=_delta_rows(comparison),
        aggregate_only=sorted({g.metric for g in comparison.metrics if not g.has_line_values}),
        usage_rows=_usage_rows(comparison),
        gate_rows=[_gate_row(r) for r in gate_results],
        against_production=html_section(against_production),
        failures=[_failure_row(group) for group in summary["failures"]],
        failures_note=f"{fmt.lines(sum(g['lines'] for g in summary['failures']))} failed; {RETRIED}.",
        worst=[_worst(worst_lines(comparison, run)) for run in comparison.runs],
        method=METHOD_NOTE,
        judge_agreement=agreement_text,
        trial_sections=trial_sections(summary.get("trials")),
    )


def _chart_sections(comparison: Comparison) -> list[dict[str, Any]]:
    """Per evaluation flow, one chart per metric holding every dataset's variants."""
    by_chart: dict[tuple[str, str], list[MetricComparison]] = {}
    for group in comparison.metrics:
        by_chart.setdefault((group.eval_flow, group.metric), []).append(group)
    sections: dict[str, list[dict[str, Any]]] = {}
    for (eval_flow, metric), groups in by_chart.items():
        sections.setdefault(eval_flow, []).append(
            {
                "metric": metric,
                "is_primary": metric == comparison.primary_metric,
                "svg": metric_chart(groups, comparison.best),
                "caption": _chart_caption(groups),
            }
        )
    return [{"eval_flow": flow, "charts": charts} for flow, charts in sections.items()]


def _chart_caption(groups: list[MetricComparison]) -> str:
    methods = {f.estimate.method for g in groups for f in g.variants}
    if not any(g.has_line_values for g in groups):
        return "No interval: this metric has no per-line values (aggregate only)."
    names = {"wilson": "Wilson score (0/1 values)", "student-t": "Student t",
             "wilson-clustered": "Wilson score on the effective sample size (0/1 values, trials clustered by line)",
             "cluster-t": "cluster-robust Student t (trials clustered by line)"}
    used = ", ".join(names[m] for m in sorted(methods) if m in names)
    return f"Whiskers: 95% confidence interval ({used})."


MAX_METRIC_COLUMNS = 6  # wider tables turn around: a row per metric, a column per variant


def _metric_tables(comparison: Comparison) -> list[dict[str, Any]]:
    tables: dict[tuple[str, str], list[MetricComparison]] = {}
    for group in comparison.metrics:
        tables.setdefault((group.eval_flow, group.dataset), []).append(group)
    result = []
    for (eval_flow, dataset), groups in tables.items():
        labels = list(dict.fromkeys(f.label for g in groups for f in g.variants))
        cells = {(g.metric, label): _metric_cell(g, label) for g in groups for label in labels}
        aggregates = [g.metric for g in groups if not g.has_line_values]
        result.append({
            "eval_flow": eval_flow,
            "dataset": dataset,
            "metrics": [g.metric for g in groups],
            "variants": [_marks(comparison, label, dataset) for label in labels],
            "cells": cells,
            "transposed": len(groups) > MAX_METRIC_COLUMNS,
            "note": (f"{len(aggregates)} of these metrics are aggregates the flow logged without per-line values, "
                     "so they have no interval." if aggregates else ""),
        })
    return result


def _metric_cell(group: MetricComparison, label: str) -> dict[str, str]:
    figure = group.figure(label)
    if figure is None:
        return {"value": fmt.NOTHING, "detail": "not evaluated"}
    estimate = figure.estimate
    # An aggregate-only metric gets one note under the table, not the same words in every cell.
    detail = f"{fmt.interval(estimate.ci_low, estimate.ci_high)} n={estimate.n}" if estimate.has_interval else ""
    return {"value": fmt.number(figure.value), "detail": detail}


def _marks(comparison: Comparison, label: str, dataset: str) -> dict[str, Any]:
    return {
        "label": label,
        "is_baseline": label == comparison.baseline_label,
        "is_best": label == comparison.best.get(dataset),
    }


def _delta_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """Paired differences; an aggregate-only metric has none (its values are in the metrics table)."""
    rows = []
    for group in comparison.metrics:
        if not group.has_line_values:
            continue
        for figure in group.variants:
            delta = figure.delta
            if delta is None:
                continue
            rows.append(
                {
                    **_marks(comparison, figure.label, group.dataset),
                    "eval_flow": group.eval_flow,
                    "dataset": group.dataset,
                    "metric": group.metric,
                    "delta": fmt.signed(delta.mean),
                    "interval": fmt.interval(delta.ci_low, delta.ci_high, signed_values=True),
                    "pairs": delta.n_pairs,
                    "mcnemar": fmt.p_value(delta.mcnemar_p),
                    "verdict": delta.note or delta.verdict,
                    "verdict_class": delta.verdict.replace(" ", "-") if not delta.note else "no-interval",
                }
            )
    return rows


def _usage_rows(comparison: Comparison) -> list[dict[str, Any]]:
    rows = []
    for run in comparison.runs:
        usage = run.usage
        rows.append(
            {
                **_marks(comparison, run.variant_label, run.dataset),
                "dataset": run.dataset,
                "run_name": run.name,
                "lines": fmt.count(len(run.lines)),
                "failed": fmt.count(run.failed_lines),
                "calls": fmt.count(usage.calls) if usage else fmt.NOTHING,
                "prompt_tokens": fmt.count(usage.prompt_tokens) if usage else fmt.NOTHING,
                "completion_tokens": fmt.count(usage.completion_tokens) if usage else fmt.NOTHING,
                "cost": fmt.money(usage.cost_usd) if usage else fmt.NOTHING,
                "p50": fmt.number(usage.p50_latency_ms) if usage else fmt.NOTHING,
                "p95": fmt.number(usage.p95_latency_ms) if usage else fmt.NOTHING,
                "cache_hits": fmt.count(usage.cache_hits) if usage else fmt.NOTHING,
            }
        )
    return rows


def _gate_row(result: GateResult) -> dict[str, Any]:
    return {
        "metric": result.metric,
        "expression": result.expression,
        "variant": result.variant_label or fmt.NOTHING,
        "role": result.role or fmt.NOTHING,
        "eval_flow": result.eval_flow or fmt.NOTHING,
        "dataset": result.dataset or fmt.NOTHING,
        "value": result.value_text,  # or why there is none
        "passed": result.passed,
    }


def _failure_row(group: dict[str, Any]) -> dict[str, Any]:
    example = group["example"]
    return {
        "lines": fmt.count(group["lines"]),
        "cause": group["cause"],
        "example": example_text(example["variant_label"], example["dataset"], example["line_index"]),
        "fix": group["fix"] or fmt.NOTHING,
    }


def _worst(worst: WorstLines) -> dict[str, Any]:
    return {
        "label": worst.run.variant_label,
        "is_baseline": worst.run.is_baseline,
        "dataset": worst.run.dataset,
        "run_name": worst.run.name,
        "score_name": worst.score_name,
        "more": worst.more,
        "lines": [
            {
                "index": w.line.index if worst.run.trials == 1 else f"{w.line.index} (trial {w.line.trial})",
                "score": fmt.number(w.score),
                "error": w.line.error,
                "eval_error": w.eval_error,
                "inputs": [(k, _text(v)) for k, v in w.line.inputs.items()],
                "outputs": [(k, _text(v)) for k, v in w.line.outputs.items()],
            }
            for w in worst.lines
        ],
    }


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return text[:MAX_TEXT_CHARS] + f"… ({len(text) - MAX_TEXT_CHARS:,} more characters in results.csv)"
