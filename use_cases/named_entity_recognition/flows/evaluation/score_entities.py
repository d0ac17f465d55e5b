"""Score one line: the predicted entity set against the ground-truth set.

Entities are compared as sets of normalized names: case, runs of spaces, surrounding quotes and
punctuation, and a leading "the" are ignored ("the World Bank" is "World Bank"), and a name listed twice
counts once. Zero-denominator convention: a line whose ground truth and prediction are both empty is
perfect (1.0 everywhere, the model rightly found nothing); otherwise an empty prediction has precision
0.0 and an empty ground truth recall 0.0.
"""

from __future__ import annotations

import json
import re
from typing import Any

from promptflow.core import tool

_LEADING_ARTICLE = re.compile(r"^the\s+", re.IGNORECASE)


def normalize(entity: object) -> str:
    text = " ".join(str(entity).split()).strip("\"'`.,;: ")
    return _LEADING_ARTICLE.sub("", text).casefold()


def as_list(value: Any) -> list[Any]:
    """A list as given; a JSON array written as a string (a dataset column stored as text); else one item."""
    if isinstance(value, list):
        return value
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            return [value]
        return decoded if isinstance(decoded, list) else [value]
    return [value]


def entity_set(value: Any) -> set[str]:
    return {name for name in map(normalize, as_list(value)) if name}


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def score(ground_truth: Any, prediction: Any) -> dict[str, Any]:
    truth, predicted = entity_set(ground_truth), entity_set(prediction)
    hits = len(truth & predicted)
    if not truth and not predicted:
        precision = recall = f1 = 1.0
    else:
        precision, recall = _ratio(hits, len(predicted)), _ratio(hits, len(truth))
        f1 = _ratio(2 * hits, len(predicted) + len(truth))
    return {
        "exact_match": 1.0 if truth == predicted else 0.0,
        "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
        "true_positives": hits, "false_positives": len(predicted - truth), "false_negatives": len(truth - predicted),
        "missed": sorted(truth - predicted), "extra": sorted(predicted - truth),
    }


@tool
def score_entities(ground_truth: list, prediction: list) -> dict[str, Any]:
    return score(ground_truth, prediction)
