"""One keep-alive HTTP/1.1 client connection, lean on CPU.

http.client sends a request's head and body in two writes and parses response headers with the email
package; at hundreds of calls per second that was a third of the gateway's CPU. This reader handles
what LLM services answer: Content-Length, chunked, or read-to-close bodies, and 1xx interim answers.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field

_MAX_LINE = 65536
_MAX_HEADERS = 200
_NO_BODY_STATUSES = (204, 304)


class StaleConnection(ConnectionError):
    """The server closed the connection before answering (typically an idle keep-alive timeout)."""


class BadResponse(ConnectionError):
    """The server's answer is not HTTP/1.x as we understand it."""


@dataclass(frozen=True)
class RawResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased
    keep_alive: bool = True


_tls_context: ssl.SSLContext | None = None


def _tls() -> ssl.SSLContext:
    global _tls_context
    if _tls_context is None:
        _tls_context = ssl.create_default_context()
    return _tls_context


class HttpConnection:
    def __init__(self, host: str, port: int, https: bool, timeout_s: float) -> None:
        raw = socket.create_connection((host, port), timeout=timeout_s)
        # Small request/response pairs: without this, Nagle + delayed ACK can add 40 ms per call.
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock: socket.socket = _tls().wrap_socket(raw, server_hostname=host) if https else raw
        self._reader = self._sock.makefile("rb")
        default_port = 443 if https else 80
        self.host_header = host if port == default_port else f"{host}:{port}"

    def exchange(self, method: str, target: str, headers: dict[str, str], body: bytes, timeout_s: float) -> RawResponse:
        self._sock.settimeout(timeout_s)
        head = [
            f"{method} {target} HTTP/1.1",
            f"Host: {self.host_header}",
            "Accept-Encoding: identity",
            f"Content-Length: {len(body)}",
        ]
        head += [f"{name}: {value}" for name, value in headers.items()]
        # Head and body in one write: one segment, one syscall.
        self._sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        while True:
            status, version = self._read_status()
            response_headers = self._read_headers()
            if status >= 200:
                break  # 1xx answers (100 Continue) come before the real one
        connection = response_headers.get("connection", "").lower()
        keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
        if method == "HEAD" or status in _NO_BODY_STATUSES:
            return RawResponse(status, b"", response_headers, keep_alive)
        if response_headers.get("transfer-encoding", "").lower() == "chunked":
            return RawResponse(status, self._read_chunked(), response_headers, keep_alive)
        length = response_headers.get("content-length")
        if length is not None:
            return RawResponse(status, self._read_exactly(_parse_length(length)), response_headers, keep_alive)
        return RawResponse(status, self._reader.read(), response_headers, keep_alive=False)

    def close(self) -> None:
        try:
            self._reader.close()
        finally:
            self._sock.close()

    def _read_status(self) -> tuple[int, str]:
        line = self._reader.readline(_MAX_LINE + 1)
        if not line:
            raise StaleConnection("the server closed the connection without answering")
        parts = line.decode("latin-1").split(None, 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise BadResponse(f"not an HTTP/1.x status line: {line[:80]!r}")
        return int(parts[1]), parts[0]

    def _read_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for _ in range(_MAX_HEADERS):
            line = self._reader.readline(_MAX_LINE + 1)
            if line in (b"\r\n", b"\n"):
                return headers
            if not line:
                raise BadResponse("the connection closed in the middle of the response headers")
            name, separator, value = line.decode("latin-1").partition(":")
            if not separator:
                raise BadResponse(f"not a header line: {line[:80]!r}")
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
        raise BadResponse(f"more than {_MAX_HEADERS} response headers")

    def _read_exactly(self, length: int) -> bytes:
        data = self._reader.read(length)
        if len(data) != length:
            raise BadResponse(f"the body ended after {len(data)} of {length} bytes")
        return data

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size_line = self._reader.readline(_MAX_LINE + 1)
            try:
                size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError as error:
                raise BadResponse(f"bad chunk size line: {size_line[:80]!r}") from error
            if size == 0:
                while self._reader.readline(_MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self._read_exactly(size))
            self._reader.readline(_MAX_LINE + 1)


def _parse_length(value: str) -> int:
    try:
        length = int(value.split(",")[0].strip())
    except ValueError as error:
        raise BadResponse(f"bad Content-Length {value!r}") from error
    if length < 0:
        raise BadResponse(f"bad Content-Length {value!r}")
    return length
