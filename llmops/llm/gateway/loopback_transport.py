"""HTTP to an upstream on 127.0.0.1 (the embedded model, a local server) over reused keep-alive connections.

The fast path of loopback calls; remote providers go through urllib3 (http_transport.py). It is kept
because it pays: benchmarks/gateway_overhead.py (50 clients x 20 calls, upstream answering in 50 ms in
its own process; medians of 4 alternating runs on a 2-core machine that other jobs kept at load 8-16):

    gateway -> upstream client       CPU added per call   p50 through gateway   calls/s
    loopback client (this module)    0.90 ms              80 ms                 544
    urllib3 (--library-client)       1.82 ms              115 ms                377
    httpx (measured, not adopted)    3.75 ms              200 ms                216

(direct to the upstream: p50 55 ms.) The client alone, one upstream, no latency: 0.13-0.26 ms of CPU per
call here against 0.55-0.84 ms for urllib3 and 1.2-1.4 ms for httpx. Most of urllib3's extra is its
second write per request (head, then body): on loopback a write also runs the receiver's TCP processing.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from llmops.llm.gateway.loopback_connection import LoopbackConnection, StaleConnection
from llmops.llm.gateway.translate import UpstreamRequest
from llmops.llm.gateway.transport import UpstreamResponse, UpstreamTransportError, describe, no_answer

_STALE_CONNECTION_ERRORS = (StaleConnection, BrokenPipeError, ConnectionResetError)


class LoopbackTransport:
    """Sends requests to one plain-HTTP loopback base URL, keeping idle connections for reuse."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or ""
        self._port = parts.port or 80
        self._prefix = parts.path.rstrip("/")
        self._idle: list[LoopbackConnection] = []
        self._lock = threading.Lock()

    def send(self, request: UpstreamRequest, timeout_s: float) -> UpstreamResponse:
        for on_fresh_connection in (False, True):
            connection: LoopbackConnection | None = None
            reused = False
            try:
                if not on_fresh_connection:
                    with self._lock:
                        connection = self._idle.pop() if self._idle else None
                    reused = connection is not None
                if connection is None:
                    connection = LoopbackConnection(self._host, self._port, timeout_s)
                raw = connection.exchange(
                    "POST", self._prefix + request.path, dict(request.headers), request.payload, timeout_s
                )
            except _STALE_CONNECTION_ERRORS as error:
                if connection is not None:
                    connection.close()
                if not reused:
                    raise UpstreamTransportError(describe(error)) from error
                # The upstream closed an idle keep-alive connection before we reused it: the request
                # never reached it, so one immediate resend on a fresh connection is not a retry.
                continue
            except TimeoutError as error:
                if connection is not None:
                    connection.close()
                raise no_answer(timeout_s) from error
            except OSError as error:
                if connection is not None:
                    connection.close()
                raise UpstreamTransportError(describe(error)) from error
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
