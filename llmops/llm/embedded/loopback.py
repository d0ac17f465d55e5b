"""A minimal JSON client for the embedded server, restricted to 127.0.0.1.

Proxies are bypassed on purpose: an HTTP(S)_PROXY in the environment would otherwise send
loopback traffic to the proxy.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from llmops.errors import UsageError

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerUnavailable(Exception):
    """The server did not answer, or answered with an error status (internal: callers translate it)."""


def get_json(url: str, timeout: float) -> Any:
    return _exchange(urllib.request.Request(url, method="GET"), timeout)


def post_json(url: str, payload: dict[str, Any], timeout: float) -> Any:
    body = json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    return _exchange(request, timeout)


def _exchange(request: urllib.request.Request, timeout: float) -> Any:
    host = urlsplit(request.full_url).hostname
    if host != "127.0.0.1":
        raise UsageError(
            f"refusing to call '{request.full_url}': the embedded server only listens on 127.0.0.1"
        )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", errors="replace")[:500]
        raise ServerUnavailable(f"{request.full_url} answered {error.code}: {detail}") from error
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise ServerUnavailable(f"{request.full_url} did not answer: {error}") from error
