"""The answer: the last number the program printed, written plainly ("1,250.0" -> "1250", "0.1+0.2" noise
rounded away: 0.30000000000000004 -> "0.3"). Empty when the program did not run to its end or printed no
number, so that such a line is graded wrong."""

from __future__ import annotations

import math
import re

from promptflow.core import tool

_NUMBER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|-?\.\d+")
SIGNIFICANT_DIGITS = 12  # below a double's ~16: arithmetic noise disappears, any real digit stays


def plain_number(text: str) -> str:
    value = float(text.replace(",", ""))
    if not math.isfinite(value):
        return ""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.{SIGNIFICANT_DIGITS}g}"


def last_number(stdout: str) -> str:
    numbers = _NUMBER.findall(stdout or "")
    return plain_number(numbers[-1]) if numbers else ""


@tool
def read_answer(stdout: str, status: str) -> str:
    return last_number(stdout) if status == "ok" else ""
