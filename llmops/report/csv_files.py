"""results.csv (one row per line per run) and metrics.csv (one row per run x evaluation flow x dataset)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from llmops.report.comparison import Comparison
from llmops.report.model import ExperimentRun

USAGE_COLUMNS = (
    "calls",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "p50_latency_ms",
    "p95_latency_ms",
    "cache_hits",
)
_METRICS_FIXED = (
    "run_id",
    "eval_run_id",
    "run_name",
    "variant_label",
    "eval_flow",
    "dataset",
    "lines",
    "failed_lines",
    "eval_failed_lines",
)


def write_results_csv(path: Path, runs: Sequence[ExperimentRun]) -> int:
    """Write every line of every run; returns the number of rows."""
    nodes = _first_seen(node for run in runs for node in run.variant)
    input_keys = _first_seen(key for run in runs for line in run.lines for key in line.inputs)
    output_keys = _first_seen(key for run in runs for line in run.lines for key in line.outputs)
    # With repeated trials a line appears once per trial, each row naming its trial and that trial's run.
    trials = any(run.trials > 1 for run in runs)
    header = (
        ["run_id", "run_name", "variant_label"]
        + [f"variant.{node}" for node in nodes]
        + ["dataset", "dataset_version", "line_index"]
        + (["trial"] if trials else [])
        + [f"input.{key}" for key in input_keys]
        + [f"output.{key}" for key in output_keys]
        + ["error"]
    )
    rows = [
        [*((run.trial_run_ids[line.trial], run.trial_run_names[line.trial]) if run.trials > 1
           else (run.run_id, run.name)), run.variant_label]
        + [run.variant.get(node, "") for node in nodes]
        + [run.dataset, run.dataset_version, line.index]
        + ([line.trial] if trials else [])
        + [_cell(line.inputs.get(key)) for key in input_keys]
        + [_cell(line.outputs.get(key)) for key in output_keys]
        + [line.error or ""]
        for run in runs
        for line in run.lines
    ]
    _write(path, header, rows)
    return len(rows)


def write_metrics_csv(path: Path, comparison: Comparison) -> int:
    """Write one row per evaluation run with every metric, its interval and the run's usage."""
    metric_names = _first_seen(m.metric for m in comparison.metrics)
    # A metric named like a fixed column gets a prefix so no column is ambiguous.
    reserved = _METRICS_FIXED + USAGE_COLUMNS
    column = {name: f"metric.{name}" if name in reserved else name for name in metric_names}
    with_interval = _first_seen(m.metric for m in comparison.metrics if m.has_line_values)
    header = (
        list(_METRICS_FIXED)
        + [column[name] for name in metric_names]
        + [f"{column[name]}_{bound}" for name in with_interval for bound in ("ci_low", "ci_high")]
        + list(USAGE_COLUMNS)
    )
    rows = []
    for evaluation in comparison.evaluations:
        run = comparison.run(evaluation.experiment_run_id)
        figures = {
            m.metric: m.figure(run.variant_label)
            for m in comparison.metrics
            if m.eval_flow == evaluation.eval_flow and m.dataset == evaluation.dataset
        }
        estimates = {name: f.estimate for name, f in figures.items() if f is not None}
        usage = run.usage
        rows.append(
            [
                evaluation.experiment_run_id,
                evaluation.run_id,
                run.name,
                run.variant_label,
                evaluation.eval_flow,
                evaluation.dataset,
                len(run.lines),
                run.failed_lines,
                evaluation.failed_lines,
            ]
            + [_cell(evaluation.metric(name)) for name in metric_names]
            + [
                _cell(getattr(estimates[name], bound) if name in estimates else None)
                for name in with_interval
                for bound in ("ci_low", "ci_high")
            ]
            + [_cell(getattr(usage, name) if usage else None) for name in USAGE_COLUMNS]
        )
    _write(path, header, rows)
    return len(rows)


def _first_seen(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _cell(value: Any) -> Any:
    """Plain values stay as they are; structures become JSON so a cell can be parsed back."""
    if value is None:
        return ""
    if isinstance(value, str | int | float):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
