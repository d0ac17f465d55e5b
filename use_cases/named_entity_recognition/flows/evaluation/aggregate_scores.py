"""The run's metrics: means of the per-line scores, and micro-averaged scores over every entity.

exact_match, precision, recall and f1 are means over lines, so the report can put confidence intervals
on them and pair them line by line against the baseline variant. micro_precision, micro_recall and
micro_f1 count every entity of the run once: a line with four entities weighs four times one with one.
"""

from __future__ import annotations

from promptflow.core import log_metric, tool

PER_LINE = ("exact_match", "precision", "recall", "f1")


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def aggregate(scores: list[dict]) -> dict[str, float]:
    # An empty run has nothing to average; 0.0 keeps the metrics present so gates still fire.
    metrics = {name: round(sum(s[name] for s in scores) / len(scores), 4) if scores else 0.0 for name in PER_LINE}
    hits = sum(s["true_positives"] for s in scores)
    predicted = hits + sum(s["false_positives"] for s in scores)
    actual = hits + sum(s["false_negatives"] for s in scores)
    metrics["micro_precision"] = round(_ratio(hits, predicted), 4)
    metrics["micro_recall"] = round(_ratio(hits, actual), 4)
    metrics["micro_f1"] = round(_ratio(2 * hits, predicted + actual), 4)
    return metrics


@tool
def aggregate_scores(scores: list[dict]) -> dict[str, float]:
    metrics = aggregate(scores)
    for name, value in metrics.items():
        log_metric(name, value)
    return metrics
