"""Aggregate per-class precision, recall and F1, and their macro average.

Classes are every name seen in the ground truth or the predictions, so a class the model
invents (or never predicts) still weighs on macro_f1. A ratio with a zero denominator is 0.0.
"""

from __future__ import annotations

from collections import Counter

from promptflow.core import log_metric, tool


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def class_metrics(groundtruths: list[str], predictions: list[str]) -> dict[str, float]:
    pairs = list(zip(groundtruths, predictions, strict=True))
    true_positives = Counter(truth for truth, predicted in pairs if truth == predicted)
    actual = Counter(truth for truth, _ in pairs)
    predicted_counts = Counter(predicted for _, predicted in pairs)
    metrics: dict[str, float] = {}
    f1_scores: list[float] = []
    for name in sorted(set(actual) | set(predicted_counts)):
        precision = _ratio(true_positives[name], predicted_counts[name])
        recall = _ratio(true_positives[name], actual[name])
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        metrics[f"precision_{name}"] = round(precision, 4)
        metrics[f"recall_{name}"] = round(recall, 4)
        metrics[f"f1_{name}"] = round(f1, 4)
        f1_scores.append(f1)
    metrics["macro_f1"] = round(sum(f1_scores) / len(f1_scores), 4) if f1_scores else 0.0
    return metrics


@tool
def calculate_class_metrics(groundtruths: list[str], predictions: list[str]) -> dict[str, float]:
    metrics = class_metrics(groundtruths, predictions)
    for name, value in metrics.items():
        log_metric(name, value)
    return metrics
