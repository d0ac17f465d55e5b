"""Masking of the secrets the gateway holds (upstream keys, its session token) in anything it writes or
returns. An upstream may echo the key it was sent, in an error or in a successful answer alike."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

MASK = "***"
# Shorter values (an empty key, "x") would mask innocent text and protect nothing.
_MIN_SECRET_LENGTH = 4


def _real_secrets(secrets: Iterable[str]) -> list[str]:
    return sorted({s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True)


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret with ***."""
    for secret in _real_secrets(secrets):
        text = text.replace(secret, MASK)
    return text


def redact_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    """Byte version of redact_text, for bodies that are not JSON."""
    for secret in _real_secrets(secrets):
        data = data.replace(secret.encode(), MASK.encode())
    return data


def redact_json(value: Any, secrets: Iterable[str]) -> Any:
    """`value` with every secret masked in its strings and keys; the very same object when none occurs.

    Masking the decoded strings catches a secret however the JSON escaped it (\\u0073k-..., \\/).
    """
    found = _real_secrets(secrets)
    # Most answers hold no secret: one search of their JSON text (escaping is per character, so a
    # secret inside a string shows there in its escaped form) is cheaper than rebuilding them.
    text = json.dumps(value, ensure_ascii=False) if found else ""
    if not any(json.dumps(s, ensure_ascii=False)[1:-1] in text for s in found):
        return value
    return _redact_value(value, found)


def redact_body(body: bytes, secrets: Iterable[str]) -> bytes:
    """A body with every secret masked: in its JSON strings when it is JSON, and in its raw bytes."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return redact_bytes(body, secrets)
    masked = redact_json(parsed, secrets)
    return redact_bytes(body if masked is parsed else json.dumps(masked, ensure_ascii=False).encode(), secrets)


def _redact_value(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return redact_text(value, secrets) if any(s in value for s in secrets) else value
    if isinstance(value, dict):
        pairs = [(_redact_value(k, secrets), _redact_value(v, secrets)) for k, v in value.items()]
        unchanged = all(new_k is k and new_v is v for (new_k, new_v), (k, v) in zip(pairs, value.items(), strict=True))
        return value if unchanged else dict(pairs)
    if isinstance(value, list):
        items = [_redact_value(v, secrets) for v in value]
        return value if all(new is old for new, old in zip(items, value, strict=True)) else items
    return value
