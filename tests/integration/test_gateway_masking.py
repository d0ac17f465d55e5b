"""An upstream that echoes the key it was sent in a successful answer: the gateway masks it in what it
returns (whole or streamed) and in everything it stores (cassette, cache, accounting)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from llmops.llm.gateway import Gateway, RetryPolicy, Tag, Upstream
from tests.support.loopback_upstream import LoopbackUpstream

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

