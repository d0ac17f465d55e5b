"""Aggregate the per-line grades: `accuracy` (share of lines answered right) and `executed_ok` (share of
lines whose program ran to its end in the sandbox, right or wrong)."""

from __future__ import annotations

from promptflow.core import log_metric, tool


def share(values: list[float]) -> float:
    # An empty run still logs its metrics (0.0), so that gates on them fire rather than go missing.
    return round(sum(values) / len(values), 4) if values else 0.0


@tool
def calculate_metrics(accuracy: list[float], executed_ok: list[float]) -> dict[str, float]:
    metrics = {"accuracy": share(accuracy), "executed_ok": share(executed_ok)}
    for name, value in metrics.items():
        log_metric(name, value)
    return metrics
