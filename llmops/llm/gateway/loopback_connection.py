"""One keep-alive plain-HTTP/1.1 client connection to a loopback upstream, lean on CPU.

http.client (and urllib3 and httpx, which the remote path uses) send a request's head and body in two
writes; on loopback each write also runs the receiving side's TCP processing in the sender's system
call, and http.client parses response headers with the email package. This connection writes once and
reads what LLM servers answer: Content-Length, chunked, or read-to-close bodies, and 1xx interim answers.
No TLS: loopback upstreams speak plain HTTP (see loopback_transport.py for what this saves).
"""

from __future__ import annotations

import socket
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


class LoopbackConnection:
    def __init__(self, host: str, port: int, timeout_s: float) -> None:
        self._sock = socket.create_connection((host, port), timeout=timeout_s)
        # Small request/response pairs: without this, Nagle + delayed ACK can add 40 ms per call.
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reader = self._sock.makefile("rb")
        name = f"[{host}]" if ":" in host else host  # an IPv6 address (::1) in brackets
        self.host_header = name if port == 80 else f"{name}:{port}"

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
