"""Shared rendering of run results for the experiment, evaluate and run commands."""

from __future__ import annotations

from typing import Any

from llmops.cli.common import out

MAX_METRICS_SHOWN = 5  # a run's line stays readable; the report has them all
_SUMMARY_PREFIXES = ("macro_", "micro_", "weighted_", "mean_", "overall_")


def runs_table(results: list[Any]) -> None:
    for r in results:
        rec = r.record
        how = "reused" if r.reused else f"ran {r.executed_lines} lines"
        out(f"{rec.name}: {rec.lines_total} lines, {rec.lines_failed} failed ({how})" + _metrics_text(rec.metrics))


def _metrics_text(metrics: dict[str, Any]) -> str:
    """Summary metrics first (accuracy, macro_f1 before f1_academic ...), at most MAX_METRICS_SHOWN of them."""
    numbers = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
    ordered = sorted(numbers, key=lambda k: ("_" in k and not k.startswith(_SUMMARY_PREFIXES), k))
    text = ", ".join(f"{k}={numbers[k]:.3f}" for k in ordered[:MAX_METRICS_SHOWN])
    if len(ordered) > MAX_METRICS_SHOWN:
        text += f" and {len(ordered) - MAX_METRICS_SHOWN} more in the report"
    return f"; {text}" if text else ""
