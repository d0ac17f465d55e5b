"""Masking of held secrets in bodies: inside JSON strings whatever their escaping, and in raw bytes."""

from __future__ import annotations

import json

import pytest

from llmops.llm.gateway.redaction import redact_body, redact_json

KEY = 'sk-"quoted"\\key-0123'
ESCAPED = "".join(f"\\u{ord(c):04x}" for c in KEY)

BODIES = [
    # body, what it becomes
    (json.dumps({"error": {"message": f"bad key {KEY}"}}).encode(), b'{"error": {"message": "bad key ***"}}'),
    (b'{"error": {"message": "bad key ' + ESCAPED.encode() + b'"}}', b'{"error": {"message": "bad key ***"}}'),
    (json.dumps({KEY: [1, {"k": KEY + KEY}]}).encode(), b'{"***": [1, {"k": "******"}]}'),
    (b"<html>denied for " + KEY.encode() + b"</html>", b"<html>denied for ***</html>"),
    (b'{"fine": "nothing to mask"}', b'{"fine": "nothing to mask"}'),
]


@pytest.mark.parametrize(("body", "expected"), BODIES)
def test_redact_body(body: bytes, expected: bytes) -> None:
    assert redact_body(body, [KEY, ""]) == expected


def test_redact_json_returns_the_same_object_when_nothing_is_masked() -> None:
    answer = {"choices": [{"message": {"content": "hello"}}], "usage": {"total_tokens": 3}}
    assert redact_json(answer, [KEY]) is answer
    assert redact_json({"choices": [{"message": {"content": KEY}}]}, [KEY]) == {
        "choices": [{"message": {"content": "***"}}]
    }
