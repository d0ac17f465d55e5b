"""Masking of upstream secrets in anything the gateway writes or forwards."""

from __future__ import annotations

from collections.abc import Iterable

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
    """Byte version of redact_text, for upstream bodies forwarded to the client."""
    for secret in _real_secrets(secrets):
        data = data.replace(secret.encode(), MASK.encode())
    return data
