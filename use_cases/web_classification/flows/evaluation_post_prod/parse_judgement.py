"""Read the judge's yes/no; anything else counts as not consistent and is reported as 'unclear'."""

from __future__ import annotations

import re

from promptflow.core import tool

_ANSWER = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


def judgement_of(answer: str) -> str:
    # The first yes/no word wins: small models sometimes explain after answering ("No. The evidence...").
    match = _ANSWER.search(answer or "")
    return match.group(1).lower() if match else "unclear"


@tool
def parse_judgement(answer: str) -> dict[str, object]:
    judgement = judgement_of(answer)
    return {"consistent": 1.0 if judgement == "yes" else 0.0, "judgement": judgement}
