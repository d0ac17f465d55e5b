"""A real OpenAI-compatible HTTP server on 127.0.0.1 that answers like the simulated model.

For tests and benchmarks that need the gateway's HTTP path to an upstream: it speaks both the OpenAI
and the Azure OpenAI shapes, can be told to answer the next requests with given statuses (or to echo
the key it was sent in its answers, as a misbehaving service might), and records what it received
(paths, headers, bodies) and how many requests it served at once.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from llmops.llm.gateway.call_errors import GatewayCallError
from llmops.llm.gateway.routes import Endpoint, parse_call_path
from llmops.llm.gateway.simulated import simulated_answer


@dataclass(frozen=True)
class ScriptedAnswer:
    status: int
    message: str = "scripted failure"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]
    received_at: float  # time.monotonic()


class LoopbackUpstream:
    def __init__(self, latency_s: float = 0.0, script: Iterable[ScriptedAnswer] = (), echo_key: bool = False) -> None:
        self.latency_s = latency_s
        self.echo_key = echo_key
        self.requests: list[ReceivedRequest] = []
        self.peak_concurrency = 0
        self._script = list(script)
        self._in_flight = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> LoopbackUpstream:
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True, name="loopback-upstream"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LoopbackUpstream:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The service root: an Azure OpenAI base_url."""
        assert self._server is not None, "start the loopback upstream first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def openai_base(self) -> str:
        """The OpenAI-style base URL (root + /v1)."""
        return f"{self.url}/v1"

    def push(self, *answers: ScriptedAnswer) -> None:
        """Answer the next requests with these, in order, before answering normally again."""
        with self._lock:
            self._script.extend(answers)

    def answer(self, path: str, headers: dict[str, str], raw_body: bytes) -> tuple[int, dict[str, str], bytes]:
        body = json.loads(raw_body or b"{}")
        with self._lock:
            self.requests.append(ReceivedRequest(path, headers, body, time.monotonic()))
            self._in_flight += 1
            self.peak_concurrency = max(self.peak_concurrency, self._in_flight)
            scripted = self._script.pop(0) if self._script else None
        try:
            if self.latency_s:
                time.sleep(self.latency_s)
            if scripted is not None:
                error = {"error": {"message": scripted.message, "type": "scripted", "code": str(scripted.status)}}
                return scripted.status, scripted.headers, json.dumps(error).encode()
            try:
                call = parse_call_path(path)
            except GatewayCallError as failure:
                return failure.status, {}, failure.body()
            model = call.deployment or str(body.get("model", ""))
            answer = simulated_answer(call.endpoint, model, body)
            if self.echo_key and call.endpoint != Endpoint.EMBEDDINGS:
                _echo(answer, headers.get("api-key") or headers.get("authorization", "").removeprefix("Bearer "))
            return 200, {}, json.dumps(answer).encode()
        finally:
            with self._lock:
                self._in_flight -= 1


def _echo(answer: dict[str, Any], key: str) -> None:
    for choice in answer["choices"]:
        if "message" in choice:
            choice["message"]["content"] += f" (your key: {key})"
        else:
            choice["text"] += f" (your key: {key})"
    answer["id"] = f"echo-{key}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256


def _handler_for(upstream: LoopbackUpstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, extra, body = upstream.answer(self.path, headers, raw)
            head = [f"HTTP/1.1 {status} X", "Content-Type: application/json", f"Content-Length: {len(body)}"]
            head += [f"{name}: {value}" for name, value in extra.items()]
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read `requests` instead."""

    return Handler
