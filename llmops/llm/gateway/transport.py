"""HTTP to one upstream over reused keep-alive connections (stdlib http.client)."""

from __future__ import annotations

import http.client
import logging
import socket
import threading
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from llmops.llm.gateway.translate import UpstreamRequest

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased


_STALE_CONNECTION_ERRORS = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


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
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def send(self, request: UpstreamRequest, timeout_s: float) -> UpstreamResponse:
        for on_fresh_connection in (False, True):
            connection: http.client.HTTPConnection | None = None
            reused = False
            try:
                if on_fresh_connection:
                    connection = self._connect(timeout_s)
                else:
                    connection, reused = self._checkout(timeout_s)
                return self._exchange(connection, request)
            except _STALE_CONNECTION_ERRORS as error:
                if connection is not None:
                    connection.close()
                if not reused:
                    raise UpstreamTransportError(_describe(error, timeout_s)) from error
                # The upstream closed an idle keep-alive connection before we reused it: the request
                # never reached it, so one immediate resend on a fresh connection is not a retry.
            except (OSError, http.client.HTTPException) as error:
                if connection is not None:
                    connection.close()
                raise UpstreamTransportError(_describe(error, timeout_s)) from error
        raise AssertionError("unreachable: the fresh-connection pass returns or raises")

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _exchange(self, connection: http.client.HTTPConnection, request: UpstreamRequest) -> UpstreamResponse:
        connection.request("POST", self._prefix + request.path, body=request.payload, headers=dict(request.headers))
        raw = connection.getresponse()
        body = raw.read()
        headers = {name.lower(): value for name, value in raw.getheaders()}
        if raw.will_close:
            connection.close()
        else:
            with self._lock:
                self._idle.append(connection)
        return UpstreamResponse(raw.status, body, headers)

    def _checkout(self, timeout_s: float) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        if connection is None:
            return self._connect(timeout_s), False
        connection.timeout = timeout_s
        if connection.sock is not None:
            connection.sock.settimeout(timeout_s)
        return connection, True

    def _connect(self, timeout_s: float) -> http.client.HTTPConnection:
        connection_class = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = connection_class(self._host, self._port, timeout=timeout_s)
        connection.connect()
        if connection.sock is not None:
            # Small request/response pairs: without this, Nagle + delayed ACK can add 40 ms per call.
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection


def _describe(error: BaseException, timeout_s: float) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {timeout_s:g} s (timeout)"
    return f"{type(error).__name__}: {error}"
