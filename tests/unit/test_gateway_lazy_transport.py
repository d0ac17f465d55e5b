"""An upstream started by its first call: once, whatever the concurrency; a failed start fails every call."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from llmops.errors import LlmopsError
from llmops.llm.gateway.lazy_transport import LazyTransport
from llmops.llm.gateway.routes import Endpoint
from llmops.llm.gateway.translate import UpstreamRequest, build_upstream_request
from llmops.llm.gateway.upstream import Upstream
from tests.support.loopback_upstream import LoopbackUpstream


def _chat_request() -> UpstreamRequest:
    upstream = Upstream(name="local", kind="openai", base_url="http://127.0.0.1:1/v1")  # the path is what counts
    body = {"messages": [{"role": "user", "content": "hi"}], "temperature": 0}
    return build_upstream_request(upstream, Endpoint.CHAT, "m", body)


def test_the_first_calls_start_the_upstream_once() -> None:
    starts: list[int] = []
    lock = threading.Lock()
    with LoopbackUpstream() as upstream:

        def start() -> str:
            with lock:
                starts.append(1)
            return upstream.openai_base

        transport = LazyTransport(start)
        assert not transport.started
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: transport.send(_chat_request(), 10).status, range(16)))
        transport.close()
    assert statuses == [200] * 16 and starts == [1] and transport.started


def test_a_failed_start_fails_every_call_with_its_message_and_is_not_retried() -> None:
    attempts: list[int] = []

    def start() -> str:
        attempts.append(1)
        raise RuntimeError("port in use")

    transport = LazyTransport(start)
    for _ in range(3):
        with pytest.raises(LlmopsError, match="the upstream could not start: RuntimeError: port in use"):
            transport.send(_chat_request(), 10)
    assert attempts == [1] and not transport.started
