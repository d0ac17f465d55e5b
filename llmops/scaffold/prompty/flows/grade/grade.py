"""Grades an answer against the expected one: correct when the expected answer appears in it, ignoring case
and punctuation. No LLM call: the evaluation itself is exact and free."""

from __future__ import annotations

import re
from typing import Any


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


class Grader:
    def __call__(self, groundtruth: str, prediction: str) -> dict[str, float]:
        return {"correct": float(_words(groundtruth) in _words(prediction))}

    def __aggregate__(self, line_results: list[Any]) -> dict[str, float]:
        scores = [float(r["correct"]) for r in line_results]
        return {"accuracy": sum(scores) / len(scores) if scores else 0.0}
