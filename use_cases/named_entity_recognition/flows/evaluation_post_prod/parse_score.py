"""Read the judge's 1-5 score. An answer with no digit from 1 to 5 is 'unclear': its score is missing
(left out of the mean) and it does not count as acceptable."""

from __future__ import annotations

import re

from promptflow.core import tool

# A score of 4 or 5 means the logged answer is right or nearly so; this is the share the report tracks.
ACCEPTABLE_FROM = 4
_SCORE = re.compile(r"(?<!\d)([1-5])(?!\d)")


def score_of(answer: str) -> int | None:
    # The first lone digit wins: small models sometimes explain after it ("2. The answer misses...").
    match = _SCORE.search(answer or "")
    return int(match.group(1)) if match else None


@tool
def parse_score(answer: str) -> dict[str, object]:
    score = score_of(answer)
    return {
        "score": None if score is None else float(score),
        "acceptable": 1.0 if score is not None and score >= ACCEPTABLE_FROM else 0.0,
        "rating": "unclear" if score is None else str(score),
    }
