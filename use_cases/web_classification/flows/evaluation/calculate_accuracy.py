"""Aggregate the per-line grades into the run's accuracy metric."""

from __future__ import annotations

from promptflow.core import log_metric, tool


@tool
def calculate_accuracy(scores: list[float]) -> dict[str, float]:
    # An empty run has no accuracy to speak of; 0.0 keeps the metric present so gates still fire.
    accuracy = round(sum(scores) / len(scores), 4) if scores else 0.0
    log_metric("accuracy", accuracy)
    return {"accuracy": accuracy}
