"""Turn the classifier's answer into {"category", "evidence"}, however untidy the answer is.

Small local models wrap JSON in code fences, add a sentence before or after it, use single
quotes or capitalise keys differently. An answer that yields no known category becomes
category "None" with empty evidence, so one bad line never fails the whole run.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from typing import Any

from promptflow.core import tool

CATEGORIES = ("Movie", "App", "Academic", "Channel", "Profile", "PDF", "None")
UNKNOWN = "None"
# The prompts ask for "Other" where the flow outputs "None": a 1.5B model rarely writes the null-like
# word "None" as an answer and picked Academic or Channel instead (43/49 right on data.jsonl with
# "None" in the prompt, 48/49 with "Other").
SYNONYMS = {"other": UNKNOWN}
_CANONICAL = {category.lower(): category for category in CATEGORIES} | SYNONYMS

logger = logging.getLogger(__name__)


def _balanced_object_end(text: str, start: int) -> int | None:
    """Index just past the '}' closing the '{' at start, skipping braces inside quoted strings."""
    depth = 0
    quote: str | None = None
    escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def _decode_object(candidate: str) -> dict[str, Any] | None:
    """JSON first; then Python literal syntax, for answers written with single quotes."""
    for decode in (json.loads, ast.literal_eval):
        try:
            value = decode(candidate)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    return None


def answer_fields(text: str) -> dict[str, Any] | None:
    """The first '{...}' in text that decodes to a dict with a category key, its keys lower-cased.

    Models put the object anywhere and sometimes emit another object before it."""
    for match in re.finditer(r"\{", text):
        end = _balanced_object_end(text, match.start())
        if end is None:
            continue
        decoded = _decode_object(text[match.start():end])
        if decoded is None:
            continue
        fields = {str(key).strip().lower(): value for key, value in decoded.items()}
        if "category" in fields:
            return fields
    return None


_CATEGORY_FIELD = re.compile(r"""["']category["']\s*:\s*["']([^"'\n]*)""", re.IGNORECASE)
_EVIDENCE_FIELD = re.compile(r"""["']evidence["']\s*:\s*["']([^"'}\n]*)""", re.IGNORECASE)


def salvaged_fields(text: str) -> dict[str, Any] | None:
    """Fields of an object that does not decode: cut off by max_tokens or missing a closing quote."""
    category = _CATEGORY_FIELD.search(text)
    if category is None:
        return None
    evidence = _EVIDENCE_FIELD.search(text)
    return {"category": category.group(1), "evidence": evidence.group(1) if evidence else ""}


def canonical_category(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return _CANONICAL.get(value.strip().strip(".\"'").lower())


def parse_answer(answer: str) -> dict[str, str]:
    answer = answer or ""
    fields = answer_fields(answer) or salvaged_fields(answer)
    if fields is None:
        # A model that ignores the format sometimes answers with the bare category name.
        bare = canonical_category(answer)
        if bare is not None:
            return {"category": bare, "evidence": ""}
        logger.warning("no JSON object in the classifier's answer %r; category set to '%s'",
                       answer[:200], UNKNOWN)
        return {"category": UNKNOWN, "evidence": ""}
    category = canonical_category(fields.get("category"))
    if category is None:
        logger.warning("category %r is not one of %s; set to '%s'",
                       fields.get("category"), ", ".join(CATEGORIES), UNKNOWN)
        return {"category": UNKNOWN, "evidence": ""}
    evidence = fields.get("evidence")
    return {"category": category, "evidence": "" if evidence is None else str(evidence).strip()}


@tool
def convert_to_dict(input_str: str) -> dict[str, str]:
    return parse_answer(input_str)
