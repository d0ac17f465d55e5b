"""A provider key never leaves the gateway. Planted in an upstream's error messages, it is written nowhere (log,
cassette, cache, accounting); echoed by an upstream in a successful answer, the gateway masks it in what it
returns (whole or streamed) and in everything it stores."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from llmops.llm.gateway import Gateway, RetryPolicy, Tag, Upstream
from tests.support.gateway_http import FAST_RETRY, azure_upstream, chat, keyed_gateway
from tests.support.loopback_upstream import LoopbackUpstream, ScriptedAnswer

pytest_plugins = ["tests.support.gateway_fixtures"]  # the upstream fixture

KEY = "sk-ECHOED-7d3f9a1c2b4e6f80"


@pytest.fixture
def echoing() -> Iterator[LoopbackUpstream]:
    with LoopbackUpstream(echo_key=True) as server:
        yield server


def open_gateway(upstream: LoopbackUpstream, tmp_path: Path, mode: str = "record") -> Gateway:
    return Gateway(
        {"aoai": Upstream("echoing", "azure", upstream.url, api_key=KEY)},
        mode=mode,
        cassette_dir=tmp_path / "cassettes",
        cache_path=tmp_path / "cache.sqlite",
        accounting_path=tmp_path / "calls.sqlite",
        retry=RetryPolicy(max_attempts=2, base_delay_seconds=0.01, max_delay_seconds=0.01),
    )


def client_for(gateway: Gateway) -> openai.AzureOpenAI:
    base = gateway.route("aoai", "azure", Tag(run="r", flow="f", node="n"))
    return openai.AzureOpenAI(api_key=gateway.token, azure_endpoint=base, api_version="2024-02-01", max_retries=0)


def ask_both_ways(client: openai.AzureOpenAI, question: str) -> str:
    """The whole answer and the streamed one, as the client received them (raw bytes)."""
    messages = [{"role": "user", "content": question}]
    whole = client.chat.completions.with_raw_response.create(model="gpt-35-turbo", messages=messages, temperature=0)
    streamed = client.chat.completions.with_raw_response.create(
        model="gpt-35-turbo", messages=messages, temperature=0, stream=True
    )
    chunks = [chunk for chunk in streamed.parse() if chunk.choices]
    joined = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)  # a key split across chunks
    return whole.http_response.text + "\n" + joined


def test_a_key_echoed_in_a_successful_answer_is_masked_everywhere(echoing: LoopbackUpstream, tmp_path: Path) -> None:
    with open_gateway(echoing, tmp_path) as gateway:
        client = client_for(gateway)
        received = [ask_both_ways(client, f"question {i}") for i in range(2)]  # upstream, then cache hits
    with open_gateway(echoing, tmp_path, mode="replay") as gateway:
        received.append(ask_both_ways(client_for(gateway), "question 0"))
    assert all(r.headers["api-key"] == KEY for r in echoing.requests) and len(echoing.requests) == 2
    assert all("(your key: ***)" in text and KEY not in text for text in received)
    cassette = (tmp_path / "cassettes" / "f.jsonl").read_text()
    assert "(your key: ***)" in cassette and '"id": "echo-***"' in cassette
    stored = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in stored} >= {"f.jsonl", "cache.sqlite", "calls.sqlite"}
    assert [p.name for p in stored if KEY.encode() in p.read_bytes()] == []


def test_planted_key_is_written_nowhere(upstream: LoopbackUpstream, tmp_path: Path) -> None:
    key = "sk-PLANTED-4f1c9e2a7b"
    log_file = tmp_path / "gateway.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    root, package = logging.getLogger(), logging.getLogger("llmops")  # an in-process CLI test may have set either
    previous_levels = root.level, package.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    package.setLevel(logging.DEBUG)
    upstream.push(ScriptedAnswer(503, f"key {key} is throttled"), ScriptedAnswer(401, f"Incorrect API key: {key}"))
    try:
        with keyed_gateway(
            {"aoai": azure_upstream(upstream, api_key=key)},
            mode="record",
            cassette_dir=tmp_path / "cassettes",
            cache_path=tmp_path / "cache.sqlite",
            accounting_path=tmp_path / "calls.sqlite",
            retry=FAST_RETRY,
        ) as gateway:
            url = gateway.route("aoai", "azure", Tag(run="r", flow="f", node="n"))
            denied = chat(url)
            granted = [chat(url, messages=[{"role": "user", "content": f"q{i}"}]) for i in range(3)]
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_levels[0])
        package.setLevel(previous_levels[1])
        handler.close()
    refused = "provider answered 401 Unauthorized for connection 'aoai': check its api_key"
    assert denied == (401, {"error": {"message": refused, "type": "authentication_error", "code": "401"}})
    assert [status for status, _ in granted] == [200] * 3
    assert all(r.headers["api-key"] == key for r in upstream.requests)  # the key was really in use
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"gateway.log", "f.jsonl", "cache.sqlite", "calls.sqlite"}
    assert "throttled" in log_file.read_text()  # the retry was logged, with the key masked
    assert [p.name for p in written if key.encode() in p.read_bytes()] == []
