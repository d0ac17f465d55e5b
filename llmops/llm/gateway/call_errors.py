"""Errors the gateway answers to its HTTP client, in the OpenAI error JSON shape.

The openai client puts `error.message` into the exception text and prompt flow records that text as
the line's error, so every message here names the thing, quotes the value and says what to do.
"""

from __future__ import annotations

import json
from http import HTTPStatus

# promptflow-tools retries every status >= 500 and 429/422 up to 100 times (tools/common.py,
# handle_openai_error). After the gateway has spent its own retry budget it must answer with a
# status the tool gives up on at once: 424 Failed Dependency is < 500, not 429/422, and names
# what happened (the upstream this call depends on failed).
UPSTREAM_EXHAUSTED_STATUS = 424
REPLAY_MISS_STATUS = 404
UNKNOWN_ROUTE_STATUS = 404
BAD_REQUEST_STATUS = 400


class GatewayCallError(Exception):
    """One call failed; carries the HTTP status and the message the client will see."""

    def __init__(self, status: int, message: str, error_type: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type

    def body(self) -> bytes:
        payload = {"error": {"message": self.message, "type": self.error_type, "code": str(self.status)}}
        return json.dumps(payload).encode()


_REFUSAL_FIXES = {401: "check its api_key", 403: "check that its api_key may use this deployment or model"}
REFUSAL_STATUSES = tuple(_REFUSAL_FIXES)


def provider_refused(status: int, connection: str, defined_in: str) -> GatewayCallError:
    """The provider's 401/403, told as the connection to fix: its own text may quote (part of) the key."""
    where = f" ({defined_in})" if defined_in else ""
    return GatewayCallError(
        status,
        f"provider answered {status} {HTTPStatus(status).phrase} for connection '{connection}'{where}: "
        f"{_REFUSAL_FIXES[status]}",
        "authentication_error" if status == 401 else "permission_error",
    )
