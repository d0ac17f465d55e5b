"""Grade one line: is the predicted category the ground truth, ignoring case and spaces?"""

from __future__ import annotations

from promptflow.core import tool


def normalize_label(label: object) -> str:
    # "Pdf", " PDF " and "P D F" are the same answer; a missing prediction is an empty label.
    return "".join(str(label if label is not None else "").split()).lower()


@tool
def grade(groundtruth: str, prediction: str) -> dict[str, object]:
    correct = normalize_label(groundtruth) == normalize_label(prediction)
    return {"grade": "Correct" if correct else "Incorrect", "accuracy": 1.0 if correct else 0.0}
