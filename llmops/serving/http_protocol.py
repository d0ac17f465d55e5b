"""uvicorn's httptools protocol, guarded: slow or idle connections cannot hold the endpoint, headers are bounded,
and what the parser refuses is answered in JSON like the app's own errors.

uvicorn closes a connection only after `timeout_keep_alive` between requests, and bounds neither how long a
request may take to arrive nor how large its headers may grow. Here:
- a request must arrive whole, headers and body, within `receive_timeout_s` of its first byte (slowloris);
- a new connection that sends no request for `idle_timeout_s` is closed (uvicorn's keep-alive timeout, set
  to the same, covers the time between requests);
- the request line and headers may take `max_header_bytes`; past that the answer is 431;
- a request answered before its body arrived (413) is not cut off mid-send: closing a socket with unread data
  resets the connection, and the client, still sending, would lose the answer. The server stops writing,
  reads and drops what comes for LINGER_S, and closes when the client does.
No per-address limit: every client of a loopback server, and of one behind Azure ML's router, has one address.

An answer of known length leaves in one write: uvicorn writes its status line and headers, then its body, and
each write is a send on the socket (a system call here, and a wake-up of the client's reader). The head is held
until the body follows, in the same turn of the loop; a head whose body does not follow goes on that turn's end.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from llmops.serving.server_settings import ServerLimits

logger = logging.getLogger(__name__)

LINGER_S = 5.0


class _HeadersTooLarge(Exception):
    pass


def refusal(status: int, reason: str, message: str) -> bytes:
    body = json.dumps({"error": {"message": message}}).encode()
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n").encode() + body


class _LingeringTransport:
    """The connection's transport as uvicorn sees it: close() lingers while the request is still arriving."""

    def __init__(self, transport: asyncio.Transport, protocol: GuardedHttpToolsProtocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._head: bytes | None = None  # an answer's head, waiting for its body

    def write(self, data: bytes) -> None:
        if self._head is not None:
            data, self._head = self._head + data, None
        else:
            cycle = self._protocol.cycle
            if (cycle is not None and cycle.response_started and not cycle.response_complete
                    and cycle.expected_content_length > 0 and not cycle.chunked_encoding):
                self._head = data  # the head: a body of known length comes next
                self._protocol.loop.call_soon(self.flush)
                return
        self._transport.write(data)

    def flush(self) -> None:
        if self._head is not None:
            data, self._head = self._head, None
            if not self._transport.is_closing():  # a client gone meanwhile: uvloop refuses writes to it
                self._transport.write(data)

    def close(self) -> None:
        self.flush()
        cycle = self._protocol.cycle
        if cycle is not None and cycle.more_body and not self._transport.is_closing():
            self._protocol.linger()
        else:
            self._transport.close()

    def is_closing(self) -> bool:
        return self._protocol.lingering or self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    limits: ClassVar[ServerLimits] = ServerLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._in_headers = False
        self._headers_too_large = False
        self.lingering = False

    @classmethod
    def with_limits(cls, limits: ServerLimits) -> type[GuardedHttpToolsProtocol]:
        return type("GuardedHttpToolsProtocol", (cls,), {"limits": limits})

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as uvicorn's
        super().connection_made(_LingeringTransport(transport, self))  # type: ignore[arg-type]  # a proxy of one
        self._arm(self.limits.idle_timeout_s, self._idle)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return  # the answer is out; what the client still sends is dropped
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(400, "Bad Request", "this endpoint does not upgrade connections; send plain HTTP/1.1")
        except httptools.HttpParserError as error:
            if self._headers_too_large:
                self._refuse(431, "Request Header Fields Too Large",
                             f"the request line and headers are larger than this endpoint's limit of "
                             f"{self.limits.max_header_bytes} bytes; send fewer or shorter headers")
            else:
                self._refuse(400, "Bad Request", f"the request is not valid HTTP/1.1 ({error})")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._in_headers = True
        self._arm(self.limits.receive_timeout_s, self._too_slow)

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_headers = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.limits.max_header_bytes:
            self._headers_too_large = True
            raise _HeadersTooLarge  # stops the parser before it keeps more

    def _refuse(self, status: int, reason: str, message: str) -> None:
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and not self._in_headers:
            if cycle.response_started:
                self.transport.close()  # the app's answer is on its way: only the connection can go
                return
            # The app is reading the body that broke: it sees the client gone, and this answer goes instead.
            cycle.disconnected = True
            cycle.message_event.set()
        logger.info("refused a request with %d: %s", status, message)
        self.transport.write(refusal(status, reason, message))
        self.linger()

    def linger(self) -> None:
        """Stop writing once the answer is out, drop what the client still sends, close after LINGER_S at most."""
        if self.lingering:
            return
        self.lingering = True
        self.transport.flush()  # type: ignore[attr-defined]  # the proxy's held head, if any
        raw = self.transport._transport  # type: ignore[attr-defined]  # the real one under the proxy
        try:
            raw.write_eof()
        except (OSError, RuntimeError):
            raw.close()
            return
        raw.resume_reading()
        self._arm(LINGER_S, raw.close)

    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _idle(self) -> None:
        if self.cycle is None and not self._in_headers:
            self.transport.close()

    def _too_slow(self) -> None:
        logger.warning("closed a connection that took more than %.0f s to send its request",
                       self.limits.receive_timeout_s)
        self.transport._transport.close()  # type: ignore[attr-defined]  # no answer can reach a half-sent request
