"""Per line: the ground-truth and predicted classes as lower-case names, and whether they match."""

from __future__ import annotations

from promptflow.core import tool

# The classifier's own "no category" label; an empty or missing prediction means the same.
NO_CLASS = "none"


def class_name(label: object) -> str:
    name = "".join(str(label if label is not None else "").split()).lower()
    return name or NO_CLASS


@tool
def normalize_labels(groundtruth: str, prediction: str) -> dict[str, object]:
    truth, predicted = class_name(groundtruth), class_name(prediction)
    return {"groundtruth": truth, "prediction": predicted, "match": 1.0 if truth == predicted else 0.0}
