"""Grade one line: is the predicted number the ground truth, within a relative tolerance?

The tolerance absorbs floating-point noise (0.1 + 0.2 printed as 0.30000000000000004) and nothing more:
a program that rounds 1102.5 to 1103 is wrong. Grades: "correct", "wrong" (a number, not this one),
"no answer" (the program failed, was stopped, or printed no number; the flow's `error` output says why).
"""

from __future__ import annotations

import math

from promptflow.core import tool

RELATIVE_TOLERANCE = 1e-6


def as_number(value: object) -> float | None:
    try:
        number = float(str(value).replace(",", "").strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def is_correct(groundtruth: object, prediction: object) -> bool:
    truth, predicted = as_number(groundtruth), as_number(prediction)
    if truth is None or predicted is None:
        return False
    return math.isclose(predicted, truth, rel_tol=RELATIVE_TOLERANCE, abs_tol=RELATIVE_TOLERANCE)


@tool
def grade(groundtruth: float, prediction: str, status: str = "ok") -> dict[str, object]:
    executed_ok = 1.0 if status == "ok" else 0.0
    if as_number(prediction) is None:
        return {"grade": "no answer", "accuracy": 0.0, "executed_ok": executed_ok}
    correct = is_correct(groundtruth, prediction)
    return {"grade": "correct" if correct else "wrong", "accuracy": 1.0 if correct else 0.0, "executed_ok": executed_ok}
