"""Who may call the gateway: only the flows of its own session, which hold its random token.

The gateway listens on loopback for a whole run, or for an endpoint server's lifetime, and adds the real
upstream key to what it forwards: without this check any local process could spend that key.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

from llmops.llm.gateway.call_errors import GatewayCallError

UNAUTHORIZED_STATUS = 401


def new_token() -> str:
    return secrets.token_urlsafe(32)


def presents_token(headers: Mapping[str, str], token: str) -> bool:
    """True when the Azure shape's `api-key` header or the OpenAI shape's `Authorization: Bearer` carries it.

    `headers` has lower-cased names. compare_digest: the time taken says nothing about the token.
    """
    offered = [headers.get("api-key", "")]
    scheme, _, credential = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        offered.append(credential.strip())
    expected = token.encode()
    return any(hmac.compare_digest(value.encode(), expected) for value in offered)


def refusal() -> GatewayCallError:
    return GatewayCallError(
        UNAUTHORIZED_STATUS,
        "missing or wrong gateway key: this LLM gateway serves only the flows of the llmops session that "
        "started it, which get its key as their connection's api_key",
        "invalid_request_error",
    )
