"""The remote path (urllib3): framings, the errors the retry layer sees, TLS trust from the environment, proxies.

Real HTTP(S) on loopback. The transport is built directly: `open_transport` would give a plain-HTTP loopback
URL the lean loopback client, which the last test checks.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from llmops.llm.gateway.http_transport import HttpTransport, open_transport
from llmops.llm.gateway.loopback_transport import LoopbackTransport
from llmops.llm.gateway.routes import Endpoint
from llmops.llm.gateway.translate import build_upstream_request
from llmops.llm.gateway.transport import UpstreamTransportError
from llmops.llm.gateway.upstream import Upstream
from tests.support.azureml_emulator.tls import make_loopback_tls
from tests.support.canned_http import CannedServer

REQUEST = build_upstream_request(
    Upstream("u", "openai", "http://127.0.0.1:1/v1", api_key="sk-test"), Endpoint.CHAT, "m",
    {"messages": [], "temperature": 0},
)
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
TRUST_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES + TRUST_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def serve() -> Iterator[list[CannedServer]]:
    servers: list[CannedServer] = []
    yield servers
    for server in servers:
        server.close()


def send(servers: list[CannedServer], answer: bytes) -> tuple[int, bytes, dict[str, str]]:
    server = CannedServer([answer])
    servers.append(server)
    transport = HttpTransport(f"http://127.0.0.1:{server.port}/v1")
    try:
        response = transport.send(REQUEST, 5)
    finally:
        transport.close()
    return response.status, response.body, response.headers


@pytest.mark.parametrize(("answer", "status", "body"), [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 200, b"{}"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\n{\"a\r\n4\r\n\": 1\r\n1\r\n}\r\n0\r\nT: v\r\n\r\n",
     200, b'{"a": 1}'),
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx", 201, b"x"),
    (b"HTTP/1.0 200 OK\r\n\r\nuntil close", 200, b"until close"),
    (b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 429, b""),
])
def test_response_framings(serve: list[CannedServer], answer: bytes, status: int, body: bytes) -> None:
    assert send(serve, answer)[:2] == (status, body)


def test_headers_are_lower_cased_and_repeats_joined_and_the_request_asks_for_no_compression(
        serve: list[CannedServer]) -> None:
    answer = b"HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\nRetry-After-Ms: 5\r\nContent-Length: 0\r\n\r\n"
    _, _, headers = send(serve, answer)
    assert headers == {"x-a": "1, 2", "retry-after-ms": "5", "content-length": "0"}
    head = serve[0].requests[0].split(b"\r\n\r\n")[0].split(b"\r\n")
    assert head[0] == b"POST /v1/chat/completions HTTP/1.1"
    assert {b"Accept-Encoding: identity", b"Authorization: Bearer sk-test", b"Content-Type: application/json"} <= set(
        head)


@pytest.mark.parametrize(("answer", "message"), [
    (b"SSH-2.0-OpenSSH\r\n", "ProtocolError: ('Connection aborted.', BadStatusLine('SSH-2.0-OpenSSH\\r\\n'))"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
     "ProtocolError: ('Connection broken: IncompleteRead(5 bytes read, 5 more expected)', "
     "IncompleteRead(5 bytes read, 5 more expected))"),
])
def test_broken_answers_are_transport_errors(serve: list[CannedServer], answer: bytes, message: str) -> None:
    with pytest.raises(UpstreamTransportError) as raised:
        send(serve, answer)
    assert str(raised.value) == message


def test_an_upstream_that_closes_without_answering_is_sent_the_request_once_more(serve: list[CannedServer]) -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    server = CannedServer([ok])  # answers once per connection, then closes it: a kept-alive one goes stale
    serve.append(server)
    transport = HttpTransport(f"http://127.0.0.1:{server.port}/v1")
    statuses = [transport.send(REQUEST, 5).status for _ in range(3)]
    transport.close()
    assert statuses == [200, 200, 200] and len(server.requests) == 3
    silent_closer = CannedServer([b""])
    serve.append(silent_closer)
    with pytest.raises(UpstreamTransportError, match="^RemoteDisconnected: Remote end closed connection without "
                                                     "response$"):
        HttpTransport(f"http://127.0.0.1:{silent_closer.port}/v1").send(REQUEST, 5)
    assert silent_closer.connections == 2  # sent twice, then given up: the retry layer decides the rest


def test_a_refused_connection_and_a_silent_upstream_read_as_the_retry_layer_expects() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        with pytest.raises(UpstreamTransportError, match=r"^ConnectionRefusedError: \[Errno 111\] Connection refused$"):
            HttpTransport(f"http://127.0.0.1:{unused.getsockname()[1]}").send(REQUEST, 5)
    with socket.create_server(("127.0.0.1", 0)) as silent:  # the kernel completes connections; no one answers
        with pytest.raises(UpstreamTransportError, match=r"^no answer within 0.2 s \(timeout\)$"):
            HttpTransport(f"http://127.0.0.1:{silent.getsockname()[1]}").send(REQUEST, 0.2)


class _Json(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture(scope="module")
def tls_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(https base URL on 127.0.0.1, a CA bundle that trusts its certificate)."""
    tls = make_loopback_tls(tmp_path_factory.mktemp("tls"), ["localhost"])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.cert, tls.key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Json)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}/v1", tls.ca_bundle
    server.shutdown()
    server.server_close()


def test_tls_is_verified_against_the_system_store_by_default(tls_upstream: tuple[str, Path]) -> None:
    base_url, _ = tls_upstream
    with pytest.raises(UpstreamTransportError, match=r"^SSLCertVerificationError: .*CERTIFICATE_VERIFY_FAILED"):
        HttpTransport(base_url).send(REQUEST, 5)


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_a_ca_bundle_named_in_the_environment_is_trusted(tls_upstream: tuple[str, Path], variable: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    base_url, bundle = tls_upstream
    monkeypatch.setenv(variable, str(bundle))
    transport = HttpTransport(base_url)
    assert [transport.send(REQUEST, 5).status for _ in range(2)] == [200, 200]
    transport.close()


def test_proxies_come_from_the_environment_unless_no_proxy_names_the_host(serve: list[CannedServer],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    upstream = CannedServer([ok], host="127.0.0.2")  # loopback, but not a host the loopback client takes
    proxy = CannedServer([ok])
    serve += [upstream, proxy]
    base_url = f"http://127.0.0.2:{upstream.port}/v1"
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    assert HttpTransport(base_url).send(REQUEST, 5).status == 200
    assert proxy.requests[0].startswith(f"POST {base_url}/chat/completions HTTP/1.1\r\n".encode())
    monkeypatch.setenv("NO_PROXY", "127.0.0.2")
    assert HttpTransport(base_url).send(REQUEST, 5).status == 200
    assert upstream.requests[0].startswith(b"POST /v1/chat/completions HTTP/1.1\r\n") and len(proxy.requests) == 1


def test_plain_http_on_this_machine_takes_the_loopback_client_and_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    for url in ("http://127.0.0.1:8080/v1", "http://localhost:8080/v1", "http://[::1]:8080/v1"):
        assert isinstance(open_transport(url), LoopbackTransport), url
    for url in ("https://127.0.0.1:8443/v1", "https://contoso.openai.azure.com", "http://10.0.0.5:8000/v1"):
        assert isinstance(open_transport(url), HttpTransport), url
