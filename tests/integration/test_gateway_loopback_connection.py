"""The gateway's lean loopback HTTP/1.1 client against a raw loopback server that answers with exact bytes."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from llmops.llm.gateway.loopback_connection import BadResponse, LoopbackConnection, RawResponse, StaleConnection
from llmops.llm.gateway.loopback_transport import LoopbackTransport
from llmops.llm.gateway.routes import Endpoint
from llmops.llm.gateway.translate import build_upstream_request
from llmops.llm.gateway.transport import UpstreamTransportError
from llmops.llm.gateway.upstream import Upstream
from tests.support.canned_http import CannedServer


@pytest.fixture
def serve() -> Iterator[list[CannedServer]]:
    servers: list[CannedServer] = []
    yield servers
    for server in servers:
        server.close()


def exchange(servers: list[CannedServer], answer: bytes) -> RawResponse:
    server = CannedServer([answer])
    servers.append(server)
    connection = LoopbackConnection("127.0.0.1", server.port, timeout_s=5)
    try:
        return connection.exchange("POST", "/v1/chat/completions", {"Content-Type": "application/json"}, b"{}", 5)
    finally:
        connection.close()


ANSWERS = [
    # raw answer, status, body, keep-alive
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 200, b"{}", True),
    (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'3;x=y\r\n{"a\r\n4\r\n": 1\r\n1\r\n}\r\n0\r\nT: v\r\n\r\n',
        200,
        b'{"a": 1}',
        True,
    ),
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx", 201, b"x", True),
    (b"HTTP/1.0 200 OK\r\n\r\nuntil close", 200, b"until close", False),
    (
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        429,
        b"",
        False,
    ),
    (b"HTTP/1.1 204 No Content\r\n\r\n", 204, b"", True),
]


@pytest.mark.parametrize(("answer", "status", "body", "keep_alive"), ANSWERS)
def test_response_framings(
    serve: list[CannedServer], answer: bytes, status: int, body: bytes, keep_alive: bool
) -> None:
    response = exchange(serve, answer)
    assert (response.status, response.body, response.keep_alive) == (status, body, keep_alive)


def test_request_is_one_well_formed_write(serve: list[CannedServer]) -> None:
    exchange(serve, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    port = serve[0].port
    assert serve[0].requests == [
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept-Encoding: identity\r\n"
        b"Content-Length: 2\r\nContent-Type: application/json\r\n\r\n{}" % port
    ]


def test_headers_are_lower_cased_and_repeats_joined(serve: list[CannedServer]) -> None:
    response = exchange(serve, b"HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\nRetry-After-Ms: 5\r\nContent-Length: 0\r\n\r\n")
    assert response.headers == {"x-a": "1, 2", "retry-after-ms": "5", "content-length": "0"}


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (b"", StaleConnection, "the server closed the connection without answering"),
        (b"SSH-2.0-OpenSSH\r\n", BadResponse, "not an HTTP/1.x status line: b'SSH-2.0-OpenSSH\\r\\n'"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", BadResponse, "the body ended after 5 of 10 bytes"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", BadResponse, "bad Content-Length '-1'"),
        (b"HTTP/1.1 200 OK\r\nbroken header\r\n\r\n", BadResponse, "not a header line: b'broken header\\r\\n'"),
    ],
)
def test_broken_answers_raise_connection_errors(
    serve: list[CannedServer], answer: bytes, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as raised:
        exchange(serve, answer)
    assert str(raised.value) == message


REQUEST = build_upstream_request(
    Upstream("u", "openai", "http://127.0.0.1:1/v1"), Endpoint.CHAT, "m", {"messages": [], "temperature": 0}
)


def test_transport_resends_once_when_an_idle_connection_went_stale(serve: list[CannedServer]) -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    server = CannedServer([ok])  # answers once per connection, then closes it: the pooled one goes stale
    serve.append(server)
    transport = LoopbackTransport(f"http://127.0.0.1:{server.port}/v1")
    statuses = [transport.send(REQUEST, 5).status for _ in range(3)]
    transport.close()
    assert statuses == [200, 200, 200]
    assert server.connections == 3 and len(server.requests) == 3


def test_transport_reports_a_refused_connection() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(UpstreamTransportError, match=r"^ConnectionRefusedError: \[Errno 111\] Connection refused$"):
            LoopbackTransport(f"http://127.0.0.1:{port}").send(REQUEST, 5)


def test_transport_reports_a_silent_upstream_as_a_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # the kernel completes connections; no one answers
        port = silent.getsockname()[1]
        with pytest.raises(UpstreamTransportError, match=r"^no answer within 0.2 s \(timeout\)$"):
            LoopbackTransport(f"http://127.0.0.1:{port}/v1").send(REQUEST, 0.2)
