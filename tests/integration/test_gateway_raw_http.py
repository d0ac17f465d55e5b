"""The gateway's HTTP/1.1 server on raw bytes: malformed and unusual requests, and keep-alive connections."""

from __future__ import annotations

import http.client
import json
import socket
import threading

import pytest

from tests.support.gateway_http import QUESTION, TOKEN, azure_upstream, keyed_gateway
from tests.support.loopback_upstream import LoopbackUpstream

pytest_plugins = ["tests.support.gateway_fixtures"]  # the upstream fixture


def raw_exchange(port: int, payload: bytes) -> bytes:
    """Send raw bytes, read until the server closes or a full answer arrived."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        received = b""
        while b"\r\n\r\n" not in received or len(received.split(b"\r\n\r\n", 1)[1]) < _content_length(received):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


def _content_length(received: bytes) -> int:
    for line in received.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


CHAT_JSON = json.dumps({"messages": QUESTION, "temperature": 0}).encode()
CHUNKED = b"".join(f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (CHAT_JSON[:20], CHAT_JSON[20:]))
RAW_REQUESTS = [
    # what is sent, status line expected, a fragment of the body expected, connection header expected
    (
        b"GARBAGE\r\n\r\n",
        b"HTTP/1.1 400 Bad Request",
        b"bad HTTP request: request line b'GARBAGE\\\\r\\\\n'",
        b"Connection: close",
    ),
    (
        b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        b"HTTP/1.1 404 Not Found",
        b"unknown gateway request 'GET /metrics'; GET serves /health, POST serves LLM calls",
        None,
    ),
    (b"GET /health HTTP/1.0\r\n\r\n", b"HTTP/1.1 200 OK", b'{"status":"ok"}', b"Connection: close"),
    (
        b"POST /openai/deployments/gpt-35-turbo/chat/completions HTTP/1.1\r\nHost: x\r\n"
        + f"api-key: {TOKEN}\r\n".encode()
        + b"Transfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n" + CHUNKED + b"0\r\n\r\n",
        b"HTTP/1.1 200 OK",
        b'"chat.completion"',
        b"Connection: close",
    ),
]


@pytest.mark.parametrize(("payload", "status_line", "fragment", "connection_header"), RAW_REQUESTS)
def test_raw_http_requests(
    upstream: LoopbackUpstream, payload: bytes, status_line: bytes, fragment: bytes, connection_header: bytes | None
) -> None:
    with keyed_gateway({"aoai": azure_upstream(upstream)}) as gateway:
        answer = raw_exchange(gateway.port, payload)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == status_line
    assert fragment in body
    assert (connection_header in head.split(b"\r\n")) if connection_header else b"Connection: close" not in head


def test_keep_alive_connection_serves_many_calls_and_stop_does_not_wait_for_it(upstream: LoopbackUpstream) -> None:
    gateway = keyed_gateway({"aoai": azure_upstream(upstream)}).start()
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=5)
    try:
        sockets = set()
        for index in range(3):
            body = json.dumps({"messages": [{"role": "user", "content": f"q{index}"}], "temperature": 0})
            connection.request(
                "POST", "/openai/deployments/gpt-35-turbo/chat/completions", body=body, headers={"api-key": TOKEN}
            )
            response = connection.getresponse()
            assert response.status == 200 and json.loads(response.read())["object"] == "chat.completion"
            sockets.add(id(connection.sock))
        assert len(sockets) == 1  # one TCP connection for all three calls
        idle = connection.sock
        # The client keeps its connection open: a stop that waited for it would never return, not just be slow.
        stopping = threading.Thread(target=gateway.stop, daemon=True)
        stopping.start()
        stopping.join(timeout=30)
        assert not stopping.is_alive(), "Gateway.stop() waited for an idle keep-alive connection"
        assert idle.recv(1) == b""  # the server closed it
    finally:
        connection.close()
        gateway.stop()
