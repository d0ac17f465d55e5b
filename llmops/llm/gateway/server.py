"""The loopback HTTP server: parses HTTP, hands calls to the pipeline, writes answers (JSON or SSE)."""

from __future__ import annotations

import json
import logging
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from llmops.llm.gateway.pipeline import CallPipeline, GatewayReply
from llmops.llm.gateway.streaming import sse_from_response

logger = logging.getLogger(__name__)

_JSON = "application/json"
_SSE = "text/event-stream"


class GatewayHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Keep-alive handler threads wait for their client's next request; stop() closes their sockets
    # instead of joining them.
    block_on_close = False
    # 50 clients connecting at once overflow the default backlog of 5, and a dropped SYN costs 1 s.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], pipeline: CallPipeline) -> None:
        self.pipeline = pipeline
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _GatewayHandler)

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


class _GatewayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
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

    def do_GET(self) -> None:
        if self.path.split("?")[0].rstrip("/") == "/health":
            self._send(200, _JSON, b'{"status":"ok"}')
        else:
            body = {
                "error": {
                    "message": f"unknown gateway path '{self.path}'; GET serves only /health",
                    "type": "invalid_request_error",
                    "code": "404",
                }
            }
            self._send(404, _JSON, json.dumps(body).encode())

    def do_POST(self) -> None:
        reply = self.server.pipeline.handle(self.path, self._read_body())
        self._send_reply(reply)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()  # the blank line after the last chunk
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send_reply(self, reply: GatewayReply) -> None:
        if reply.status == 200 and reply.stream:
            events = sse_from_response(reply.endpoint, json.loads(reply.body), reply.include_usage)
            self._send(200, _SSE, events, {"Cache-Control": "no-cache"})
        elif reply.status >= 400:
            # The openai client obeys x-should-retry; the gateway has already done the retrying.
            self._send(reply.status, _JSON, reply.body, {"x-should-retry": "false"})
        else:
            self._send(reply.status, _JSON, reply.body)

    def _send(self, status: int, content_type: str, body: bytes, extra: dict[str, str] | None = None) -> None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        lines = [
            f"HTTP/1.1 {status} {phrase}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
        ]
        lines += [f"{name}: {value}" for name, value in (extra or {}).items()]
        if self.close_connection:
            lines.append("Connection: close")
        # One write for head and body: the answer leaves in one segment.
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.client_address[0], *args)
