"""Aggregate the per-line grades: `accuracy` (share of lines answered right) and `executed_ok` (share of
lines whose program ran to its end in the sandbox, right or wrong)."""

from __future__ import annotations

from promptflow.core import log_metric, tool


def share(values: list[float]) -> float:
    # An empty run still logs its metrics (0.0), so that gates on them fire rather than go missing.
    return round(sum(values) / len(values), 4) if values else 0.0


@tool
def calculate_metrics(correct: list[float], executed: list[float]) -> dict[str, float]:
    metrics = {"accuracy": share(correct), "executed_ok": share(executed)}
    for name, value in metrics.items():
        log_metric(name, value)
    return metrics
