"""HTTP to one upstream over reused keep-alive connections."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from llmops.llm.gateway.http_connection import HttpConnection, StaleConnection
from llmops.llm.gateway.translate import UpstreamRequest

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased


_STALE_CONNECTION_ERRORS = (StaleConnection, BrokenPipeError, ConnectionResetError)


class UpstreamTransportError(Exception):
    """The upstream could not be reached or did not answer in time (retryable)."""


class Transport(Protocol):
    def send(self, request: UpstreamRequest, timeout_s: float) -> UpstreamResponse: ...

    def close(self) -> None: ...


class HttpTransport:
    """Sends requests to one base URL, keeping idle connections for reuse."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._idle: list[HttpConnection] = []
        self._lock = threading.Lock()

    def send(self, request: UpstreamRequest, timeout_s: float) -> UpstreamResponse:
        for on_fresh_connection in (False, True):
            connection: HttpConnection | None = None
            reused = False
            try:
                if not on_fresh_connection:
                    with self._lock:
                        connection = self._idle.pop() if self._idle else None
                    reused = connection is not None
                if connection is None:
                    connection = HttpConnection(self._host, self._port, self._https, timeout_s)
                raw = connection.exchange(
                    "POST", self._prefix + request.path, dict(request.headers), request.payload, timeout_s
                )
            except _STALE_CONNECTION_ERRORS as error:
                if connection is not None:
                    connection.close()
                if not reused:
                    raise UpstreamTransportError(_describe(error, timeout_s)) from error
                # The upstream closed an idle keep-alive connection before we reused it: the request
                # never reached it, so one immediate resend on a fresh connection is not a retry.
                continue
            except OSError as error:
                if connection is not None:
                    connection.close()
                raise UpstreamTransportError(_describe(error, timeout_s)) from error
            if raw.keep_alive:
                with self._lock:
                    self._idle.append(connection)
            else:
                connection.close()
            return UpstreamResponse(raw.status, raw.body, raw.headers)
        raise AssertionError("unreachable: the fresh-connection pass returns or raises")

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


def _describe(error: BaseException, timeout_s: float) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {timeout_s:g} s (timeout)"
    return f"{type(error).__name__}: {error}"
