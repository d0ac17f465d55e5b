"""The loopback HTTP/1.1 server: reads requests, hands calls to the pipeline, writes JSON or SSE answers.

A small keep-alive HTTP/1.1 reader rather than http.server's BaseHTTPRequestHandler: the gateway's
clients are the openai SDK and http.client, and parsing headers with the email package cost more CPU
than the rest of a cached call.
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import threading
from http import HTTPStatus

from llmops.llm.gateway.client_auth import presents_token, refusal
from llmops.llm.gateway.pipeline import CallPipeline, GatewayReply
from llmops.llm.gateway.shared_routes import ROUTES_PATH, register
from llmops.llm.gateway.streaming import sse_from_response
from llmops.llm.gateway.tags import RouteTable

logger = logging.getLogger(__name__)

_JSON = "application/json"
_SSE = "text/event-stream"
_MAX_LINE = 65536
_MAX_HEADERS = 100


class _BadRequest(Exception):
    """The bytes on the wire are not an HTTP/1.x request this server understands."""


class GatewayHTTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    # Keep-alive handler threads wait for their client's next request; stop() closes their sockets
    # instead of joining them.
    block_on_close = False
    allow_reuse_address = True
    # 50 clients connecting at once overflow the default backlog of 5, and a dropped SYN costs 1 s.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], pipeline: CallPipeline, token: str, routes: RouteTable) -> None:
        self.pipeline = pipeline
        self.routes = routes  # POST /routes adds to it: routes made in another process (shared_routes.py)
        self.token = token  # what a caller must present; see client_auth.py
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self._refused_before = False
        super().__init__(address, _GatewayHandler)

    def note_refusal(self, target: str) -> None:
        """Say once that someone without the key called: a stray process, or a flow given a stale connection."""
        with self._open_lock:
            first, self._refused_before = not self._refused_before, True
        log = logger.warning if first else logger.debug
        log("LLM gateway refused a call without its session key (POST %s)", target.split("?")[0])

    def track(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(connection)

    def close_open_connections(self) -> None:
        with self._open_lock:
            open_connections, self._open = list(self._open), set()
        for connection in open_connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the client closed it already


class _GatewayHandler(socketserver.StreamRequestHandler):
    server: GatewayHTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def handle(self) -> None:
        try:
            while self._serve_one():
                pass
        except _BadRequest as error:
            self._send(400, _JSON, _error_body(400, f"bad HTTP request: {error}"), close=True)
        except OSError:
            pass  # the client went away, or stop() closed the connection

    def _serve_one(self) -> bool:
        """Serve one request; False when the connection should close."""
        request_line = self.rfile.readline(_MAX_LINE + 1)
        if not request_line:
            return False
        parts = request_line.decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _BadRequest(f"request line {request_line[:80]!r}")
        method, target, version = parts
        headers = self._read_headers()
        connection_header = headers.get("connection", "").lower()
        keep_alive = connection_header != "close" if version == "HTTP/1.1" else connection_header == "keep-alive"
        if method == "POST" and not presents_token(headers, self.server.token):
            # Refused before its body is read; closing the connection drops whatever body follows.
            self.server.note_refusal(target)
            refused = refusal()
            self._send(refused.status, _JSON, refused.body(), close=True)
            return False
        body = self._read_body(headers)
        if method == "POST" and target == ROUTES_PATH:
            status, answer = register(self.server.routes, body)
            self._send(status, _JSON, json.dumps(answer).encode(), close=not keep_alive)
        elif method == "POST":
            self._send_reply(self.server.pipeline.handle(target, body), close=not keep_alive)
        elif method == "GET" and target.split("?")[0].rstrip("/") == "/health":
            self._send(200, _JSON, b'{"status":"ok"}', close=not keep_alive)
        else:
            message = f"unknown gateway request '{method} {target}'; GET serves /health, POST serves LLM calls"
            self._send(404, _JSON, _error_body(404, message), close=not keep_alive)
        return keep_alive

    def _read_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for _ in range(_MAX_HEADERS):
            line = self.rfile.readline(_MAX_LINE + 1)
            if line in (b"\r\n", b"\n", b""):
                return headers
            name, separator, value = line.decode("latin-1").partition(":")
            if not separator:
                raise _BadRequest(f"header line {line[:80]!r}")
            headers[name.strip().lower()] = value.strip()
        raise _BadRequest(f"more than {_MAX_HEADERS} headers")

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline(_MAX_LINE).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(_MAX_LINE)
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError as error:
            raise _BadRequest(f"Content-Length {headers['content-length']!r}") from error
        return self.rfile.read(length) if length > 0 else b""

    def _send_reply(self, reply: GatewayReply, close: bool) -> None:
        if reply.status == 200 and reply.stream:
            events = sse_from_response(reply.endpoint, json.loads(reply.body), reply.include_usage)
            self._send(200, _SSE, events, close, {"Cache-Control": "no-cache"})
        elif reply.status >= 400:
            # The openai client obeys x-should-retry; the gateway has already done the retrying.
            self._send(reply.status, _JSON, reply.body, close, {"x-should-retry": "false"})
        else:
            self._send(reply.status, _JSON, reply.body, close)

    def _send(
        self, status: int, content_type: str, body: bytes, close: bool, extra: dict[str, str] | None = None
    ) -> None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        lines = [f"HTTP/1.1 {status} {phrase}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in (extra or {}).items()]
        if close:
            lines.append("Connection: close")
        # One write for head and body: the answer leaves in one segment.
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def _error_body(status: int, message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": str(status)}}).encode()
