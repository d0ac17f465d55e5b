"""Connections that hold the endpoint: 1,000 idle ones must not keep a client from its answer, and a client
that sends its request a byte at a time (slowloris) is dropped. Figures are printed, never asserted."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmops.backends.local.registry import endpoints as endpoint_registry
from llmops.serving import process
from tests.support.cli import llmops
from tests.support.mini_use_case import write_use_case

pytestmark = pytest.mark.timeout(300)


def stopped_afterwards(repo: Path) -> Iterator[process.ServerInfo]:
    try:
        info = process.running(repo / ".llmops", "mini")
        assert info is not None
        yield info
    finally:
        process.stop(repo / ".llmops", "mini")


@pytest.fixture()
def up(tmp_path: Path) -> Iterator[process.ServerInfo]:
    """The endpoint as `llmops endpoint up` starts it, with its default limits."""
    write_use_case(tmp_path)
    done = llmops(tmp_path, "endpoint", "up", "-u", "mini", "-e", "dev", "--provider", "replay")
    assert done.code == 0, done.err
    yield from stopped_afterwards(tmp_path)


@pytest.fixture()
def impatient(tmp_path: Path) -> Iterator[process.ServerInfo]:
    """An endpoint that gives a client 2 s to send its request."""
    write_use_case(tmp_path)
    state = tmp_path / ".llmops"
    endpoint_registry.ensure_endpoint(state, "mini", "mini", "dev", "replay")
    process.start(process.ServeOptions(root=tmp_path, state_dir=state, use_case="mini", env="dev", endpoint="mini",
                                       provider="replay", receive_timeout_s=2))
    yield from stopped_afterwards(tmp_path)


def health(port: int, timeout: float) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status, time.perf_counter() - started
    finally:
        conn.close()


def closed_by_server(sock: socket.socket) -> bool:
    timeout = sock.gettimeout()
    sock.setblocking(False)  # with a timeout, recv would wait for it before saying there is nothing to read
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.settimeout(timeout)


@pytest.mark.parametrize("sent", [b"", b"POST /score HTTP/1.1\r\nHost: x\r\n"], ids=["idle", "half a request"])
def test_a_client_is_answered_while_1000_connections_are_held(up: process.ServerInfo, sent: bytes) -> None:
    held = [socket.create_connection(("127.0.0.1", up.port), timeout=5) for _ in range(1000)]
    try:
        for sock in held:
            sock.sendall(sent)
        time.sleep(1)  # the server accepts what it will
        status, seconds = health(up.port, timeout=15)
        answers = [health(up.port, timeout=15)[0] for _ in range(5)]
        dropped = sum(closed_by_server(s) for s in held)
        print(f"\n1,000 connections held ({sent[:8]!r}): a new client answered {status} in {seconds * 1000:.0f} ms, "
              f"5 more {answers}; the server closed {dropped} of the 1,000 to make room")
        assert (status, answers) == (200, [200] * 5)
    finally:
        for sock in held:
            sock.close()


HEADERS = b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n"


@pytest.mark.parametrize("sent", [HEADERS + b"X-Slow: ", HEADERS + b"\r\n"], ids=["headers", "body"])
def test_a_client_that_sends_its_request_slowly_is_dropped(impatient: process.ServerInfo, sent: bytes) -> None:
    started = time.monotonic()
    dropped_after = None
    with socket.create_connection(("127.0.0.1", impatient.port), timeout=5) as slow:
        slow.sendall(sent)
        for _ in range(100):  # a byte every 0.25 s: 25 s in all, unless the server drops us
            time.sleep(0.25)
            try:
                if closed_by_server(slow):
                    raise ConnectionResetError
                slow.sendall(b"a")
            except OSError:
                dropped_after = time.monotonic() - started
                break
    print(f"\nslow client dropped after {dropped_after and round(dropped_after, 1)} s (limit 2 s)")
    assert dropped_after is not None
    assert health(impatient.port, timeout=5)[0] == 200
