"""An answer leaves the endpoint in one write (status line, headers and body together), on the real server.

The socket's transport is wrapped where the guarded protocol receives it, so the test sees every write that
reaches the socket; everything else is the real uvicorn server, guarded protocol and app on loopback.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmops.serving import asgi_server
from llmops.serving.http_protocol import GuardedHttpToolsProtocol
from llmops.serving.ports import listening_socket
from llmops.serving.server_settings import ServerLimits
from tests.support.endpoint_harness import Served, serving

Writes = list[bytes]


class _Recording:
    def __init__(self, transport: asyncio.Transport, writes: Writes) -> None:
        self._transport = transport
        self._writes = writes

    def write(self, data: bytes) -> None:
        self._writes.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> Writes:
    seen: Writes = []

    class Recorded(GuardedHttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(_Recording(transport, seen))  # type: ignore[arg-type]

    monkeypatch.setattr(asgi_server, "GuardedHttpToolsProtocol", Recorded)
    return seen


@pytest.fixture
def served(tmp_path: Path, writes: Writes) -> Iterator[Served]:
    with serving(tmp_path) as running:
        yield running


def test_each_answer_is_one_write(served: Served, writes: Writes) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        for text in ("one", "two", "three"):  # one keep-alive connection
            conn.request("POST", "/score", body=json.dumps({"text": text}),
                         headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            assert (response.status, json.loads(response.read())) == (200, {"echo": text})
        conn.request("GET", "/nowhere")
        response = conn.getresponse()
        assert response.status == 404 and b"no route /nowhere" in response.read()
    finally:
        conn.close()
    assert [w.split(b"\r\n", 1)[0] for w in writes] == [b"HTTP/1.1 200 OK"] * 3 + [b"HTTP/1.1 404 Not Found"]
    assert [w.rsplit(b"\r\n\r\n", 1)[1] for w in writes[:3]] == [b'{"echo": "one"}', b'{"echo": "two"}',
                                                                 b'{"echo": "three"}']


async def _slow_body(scope: Any, receive: Any, send: Any) -> None:
    """An app whose body follows its head a while later: the head must not wait for it."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"4")]})
    await asyncio.sleep(1.0)
    await send({"type": "http.response.body", "body": b"done"})


def test_a_head_whose_body_is_late_is_sent_on_its_own(writes: Writes) -> None:
    sock = listening_socket("127.0.0.1", 0)
    port = int(sock.getsockname()[1])

    async def nothing() -> None:
        return None

    server = asgi_server.AsgiServer(_slow_body, sock, ServerLimits(), nothing, nothing)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            head = client.recv(4096)  # before the body exists: the head came alone
            assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"\r\n\r\n")
            assert client.recv(4096) == b"done"
    finally:
        server.stop()
        thread.join(timeout=30)
    assert [w[-4:] for w in writes] == [b"\r\n\r\n", b"done"]
