"""The body of `POST /score`: JSON only, as Azure ML and pf flow serve take it, nested at most MAX_DEPTH deep.

Requiring `Content-Type: application/json` also closes a cross-site hole: a web page can make the browser
POST `text/plain` to loopback without asking, but not JSON (that needs a CORS preflight we never allow).
"""

from __future__ import annotations

import json
from typing import Any

JSON_TYPE = "application/json"
MAX_DEPTH = 64  # flow inputs nest a few levels; deeper is an attack on the parser (or on whoever reads the log)


class Refused(Exception):
    """A request answered with an error status before the flow runs."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_content_type(value: str) -> None:
    if value.split(";", 1)[0].strip().lower() != JSON_TYPE:
        raise Refused(415, "POST /score takes a JSON body: send the header Content-Type: application/json "
                              f"(got {repr(value) if value else 'none'})")


def _too_deep() -> Refused:
    return Refused(400, f"the request body nests arrays and objects deeper than {MAX_DEPTH} levels; send "
                           "flatter inputs")


def _deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:  # not recursive: the point is to refuse what would exhaust the stack
        item, level = stack.pop()
        if isinstance(item, dict | list):
            if level > limit:
                return True
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def parse_json(raw: bytes) -> Any:
    try:
        value = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise Refused(400, f"the request body is not JSON ({error}); send the flow inputs as a JSON object") \
            from None
    except RecursionError:  # the parser's own stack ran out, thousands of levels down
        raise _too_deep() from None
    # Counting brackets is fast and bounds the depth from above, so the walk only runs on bodies that might fail.
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _deeper_than(value, MAX_DEPTH):
        raise _too_deep()
    return value
