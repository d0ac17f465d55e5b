"""The logged answer as the judge reads it: a JSON array, as the examples in its prompt show answers.

The production log keeps the flow's output as a list; an answer logged as text (a JSON array written as a
string, or a bare name) is read the same way, so the judge always sees one format.
"""

from __future__ import annotations

import json
from typing import Any

from promptflow.core import tool


def entities_of(value: Any) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [value] if value.strip() else []
    if not isinstance(value, list):
        return [] if value is None else [str(value)]
    return [str(item) for item in value]


@tool
def format_answer(entities: list) -> str:
    return json.dumps(entities_of(entities), ensure_ascii=False)
