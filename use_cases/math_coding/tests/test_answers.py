"""The flow's pure-Python parts: finding the program in an answer, reading the printed answer, grading it."""

from __future__ import annotations

import pytest
from calculate_metrics import calculate_metrics
from extract_code import code_in
from grade import grade
from read_answer import last_number, read_answer

FENCED = "Here is the program:\n```python\nprint(6 * 7)\n```\nIt prints 42."


@pytest.mark.parametrize(("answer", "code"), [
    (FENCED, "print(6 * 7)\n"),
    ("```py\nx = 1\nprint(x)\n```", "x = 1\nprint(x)\n"),
    ("```\nprint(1)\n```\n```python\nprint(2)\n```", "print(1)\n"),  # the first block wins
    ("print(2 + 2)", "print(2 + 2)\n"),  # no fence: the whole answer
    ("```python\nprint(1 +", "print(1 +\n"),  # cut off by max_tokens: the sandbox reports the SyntaxError
    ("", ""),
    ("```python\n\n```", ""),
])
def test_code_in(answer: str, code: str) -> None:
    assert code_in(answer) == code


@pytest.mark.parametrize(("stdout", "answer"), [
    ("42\n", "42"),
    ("42.0\n", "42"),
    ("The answer is 1,250.50 dollars\n", "1250.5"),
    ("0.30000000000000004\n", "0.3"),
    ("1.6499999999999995\n", "1.65"),
    ("step 1: 3\nstep 2: -7\n", "-7"),
    ("1e20\n", "1e+20"),
    ("no number here\n", ""),
    ("", ""),
])
def test_last_number(stdout: str, answer: str) -> None:
    assert last_number(stdout) == answer


def test_a_program_that_did_not_finish_has_no_answer() -> None:
    assert read_answer("12\n", "time_limit") == "" and read_answer("12\n", "ok") == "12"


@pytest.mark.parametrize(("truth", "prediction", "status", "expected"), [
    (21, "21", "ok", {"grade": "correct", "accuracy": 1.0, "executed_ok": 1.0}),
    (1.65, "1.6500000001", "ok", {"grade": "correct", "accuracy": 1.0, "executed_ok": 1.0}),
    (1102.5, "1103", "ok", {"grade": "wrong", "accuracy": 0.0, "executed_ok": 1.0}),
    (0, "0.0000001", "ok", {"grade": "correct", "accuracy": 1.0, "executed_ok": 1.0}),
    (8, "", "time_limit", {"grade": "no answer", "accuracy": 0.0, "executed_ok": 0.0}),
    (8, "", "ok", {"grade": "no answer", "accuracy": 0.0, "executed_ok": 1.0}),  # ran, printed no number
    (8, "nan", "ok", {"grade": "no answer", "accuracy": 0.0, "executed_ok": 1.0}),
])
def test_grade(truth: float, prediction: str, status: str, expected: dict[str, object]) -> None:
    assert grade(truth, prediction, status) == expected


def test_metrics_are_shares_and_an_empty_run_still_has_them() -> None:
    assert calculate_metrics([1.0, 0.0, 1.0, 1.0], [1.0, 1.0, 0.0, 1.0]) == {"accuracy": 0.75, "executed_ok": 0.75}
    assert calculate_metrics([], []) == {"accuracy": 0.0, "executed_ok": 0.0}
