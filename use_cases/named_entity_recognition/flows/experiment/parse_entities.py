"""Read the model's answer as a list of entities, and keep only those the text really contains.

The prompts ask for a JSON array of strings. Small models also answer with code fences, prose around the
array, single quotes, objects instead of strings, a bulleted or comma-separated list, or an array cut off
by max_tokens; all of those are read. What no reading makes sense of gives an empty list and a log line,
so one bad answer never fails the run.

Grounding: an entity is kept only when the text contains it (ignoring case and runs of spaces), and it is
returned as the text spells it. A model that rewrites a date as 2024-03-01, or names the entity type
itself, or invents a name, gets nothing for it: the flow only returns spans of its input.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from typing import Any

from promptflow.core import tool

logger = logging.getLogger(__name__)

_FENCE = re.compile(r"```[a-zA-Z]*")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'')
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s*")
_NOTHING = re.compile(r"^\W*(none|no entities|nothing|n/?a|empty)\W*$", re.IGNORECASE)
# Keys under which a model that answers with objects puts the entity itself.
_ENTITY_KEYS = ("text", "entity", "name", "value")


def _closing_bracket(text: str, start: int) -> int | None:
    """Index just past the ']' closing the '[' at start, skipping brackets inside quoted strings."""
    depth, quote, escaped = 0, "", False
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def _decode(candidate: str) -> list[Any] | None:
    """JSON first; then Python literal syntax, for arrays written with single quotes."""
    for decode in (json.loads, ast.literal_eval):
        try:
            value = decode(candidate)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, list):
            return value
    return None


def _as_text(item: Any) -> str | None:
    if isinstance(item, str):
        return item
    if isinstance(item, int | float) and not isinstance(item, bool):
        return str(item)
    if isinstance(item, dict):
        fields = {str(key).lower(): value for key, value in item.items()}
        return next((fields[key] for key in _ENTITY_KEYS if isinstance(fields.get(key), str)), None)
    return None


def _from_array(answer: str) -> list[str] | None:
    """The items of the first array in the answer; the quoted strings of an array cut off before its ']'."""
    for match in re.finditer(r"\[", answer):
        end = _closing_bracket(answer, match.start())
        if end is None:
            strings = [a or b for a, b in _QUOTED.findall(answer[match.start():])]
            return strings or None
        items = _decode(answer[match.start():end])
        if items is not None:
            return [text for text in map(_as_text, items) if text is not None]
    return None


def _from_list_text(answer: str) -> list[str]:
    """A bulleted list, one entity per line, or one line of comma- or semicolon-separated entities."""
    lines = [line for line in answer.splitlines() if line.strip()]
    if len(lines) == 1:
        lines = re.split(r"[;,]", lines[0])
    return [_BULLET.sub("", line) for line in lines]


def read_answer(answer: str) -> list[str]:
    """Every entity the answer names, in its order, before grounding."""
    answer = _FENCE.sub("", answer or "").strip()
    if not answer or _NOTHING.match(answer):
        return []
    items = _from_array(answer)
    return items if items is not None else _from_list_text(answer)


def _span_in(text: str, entity: str) -> str | None:
    """The entity as the text spells it, or None when the text does not contain it as a whole word run."""
    words = entity.split()
    if not words:
        return None
    pattern = r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)"
    found = re.search(pattern, text, re.IGNORECASE)
    return found.group(0) if found else None


def ground(entities: list[str], text: str) -> list[str]:
    """The entities found in the text, as it spells them, each once (ignoring case), in answer order."""
    kept: list[str] = []
    seen: set[str] = set()
    for entity in entities:
        cleaned = entity.strip().strip("\"'`").strip(" .,;:")
        span = _span_in(text, cleaned)
        if span is None:
            if cleaned:
                logger.info("dropped %r: not in the text", cleaned)
            continue
        if span.lower() not in seen:
            seen.add(span.lower())
            kept.append(span)
    return kept


@tool
def parse_entities(answer: str, text: str) -> list[str]:
    return ground(read_answer(answer), text)
