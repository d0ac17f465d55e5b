"""Record and replay over real loopback HTTP: cassettes written in record mode answer identically in replay,
and a replay miss says how to record the request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest

from llmops.llm.gateway import Gateway, Tag
from llmops.llm.gateway.hashing import request_hash
from llmops.llm.gateway.routes import Endpoint
from tests.support.gateway_http import QUESTION, TOKEN, azure_upstream, chat, keyed_gateway
from tests.support.loopback_upstream import LoopbackUpstream

pytest_plugins = ["tests.support.gateway_fixtures"]  # the upstream fixture


def test_record_then_replay_gives_identical_responses(upstream: LoopbackUpstream, tmp_path: Path) -> None:
    cassettes = tmp_path / "cassettes"
    tag = Tag(run="r", variant="v1", flow="web_classification", node="classify")
    requests = [(0.0, "What is a URL?"), (0.8, "Name a colour."), (0.8, "Name a colour."), (0.0, "Why?")]

    def ask_all(gateway: Gateway) -> list[tuple[int, dict[str, Any]]]:
        url = gateway.route("aoai", "azure", tag)
        return [chat(url, temperature=t, messages=[{"role": "user", "content": q}]) for t, q in requests]

    with keyed_gateway({"aoai": azure_upstream(upstream)}, mode="record", cassette_dir=cassettes) as gateway:
        recorded = ask_all(gateway)
    with keyed_gateway({}, mode="replay", cassette_dir=cassettes) as gateway:
        replayed = ask_all(gateway)
    assert replayed == recorded and all(status == 200 for status, _ in recorded)
    assert len(upstream.requests) == 4
    lines = (cassettes / "web_classification.jsonl").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["hash"] for e in entries] == sorted(e["hash"] for e in entries) and len(entries) == 4
    assert {tuple(sorted(e)) for e in entries} == {("endpoint", "flow", "hash", "model", "node", "request", "response")}
    assert all(line == json.dumps(json.loads(line), sort_keys=True, ensure_ascii=False) for line in lines)
    assert {(e["flow"], e["node"], e["endpoint"], e["model"]) for e in entries} == {
        ("web_classification", "classify", "chat", "gpt-35-turbo")
    }


def test_untagged_replay_searches_every_cassette(upstream: LoopbackUpstream, tmp_path: Path) -> None:
    cassettes = tmp_path / "cassettes"
    with keyed_gateway({"aoai": azure_upstream(upstream)}, mode="record", cassette_dir=cassettes) as gateway:
        recorded = chat(gateway.route("aoai", "azure", Tag(flow="evaluation", node="grade")))
    with keyed_gateway({}, mode="replay", cassette_dir=cassettes) as gateway:
        replayed = chat(gateway.url)
    assert replayed == recorded and recorded[0] == 200


def test_replay_miss_names_the_request_and_how_to_record_it(tmp_path: Path) -> None:
    cassettes = tmp_path / "cassettes"
    hint = "llmops record --use-case web_classification --env pr"
    tag = Tag(run="r", flow="web_classification", node="classify")
    with keyed_gateway({}, mode="replay", cassette_dir=cassettes, replay_hint=hint) as gateway:
        status, answer = chat(gateway.route("aoai", "azure", tag))
        client = openai.AzureOpenAI(
            api_key=TOKEN,
            azure_endpoint=gateway.route("aoai", "azure", tag),
            api_version="2024-02-01",
            max_retries=0,
        )
        with pytest.raises(openai.NotFoundError) as raised:
            client.chat.completions.create(model="gpt-35-turbo", messages=QUESTION, temperature=0)
    digest = request_hash(Endpoint.CHAT, "gpt-35-turbo", {"messages": QUESTION, "temperature": 0}, None)
    expected = (
        f"replay miss: no recorded response for request {digest} (flow 'web_classification', node "
        f"'classify') in '{cassettes / 'web_classification.jsonl'}'; record it with "
        "`llmops record --use-case web_classification --env pr`"
    )
    assert (status, answer["error"]["message"], answer["error"]["type"]) == (404, expected, "replay_miss")
    assert str(raised.value) == f"Error code: 404 - {expected}"


def test_record_asks_only_for_what_the_cassette_lacks_and_refresh_asks_for_everything(
    upstream: LoopbackUpstream, tmp_path: Path
) -> None:
    cassettes = tmp_path / "cassettes"
    tag = Tag(run="r", flow="web_classification", node="classify")
    old, new = ["What is a URL?", "Name a colour."], ["Name a colour.", "Why?"]

    def record(questions: list[str], mode: str) -> tuple[int, dict[str, int]]:
        asked = len(upstream.requests)
        with keyed_gateway({"aoai": azure_upstream(upstream)}, mode=mode, cassette_dir=cassettes) as gateway:
            url = gateway.route("aoai", "azure", tag)
            assert all(chat(url, messages=[{"role": "user", "content": q}])[0] == 200 for q in questions)
            return len(upstream.requests) - asked, gateway.call_outcomes()

    assert record(old, "record") == (2, {"record": 2})
    cassette = cassettes / "web_classification.jsonl"
    recorded = set(cassette.read_text().splitlines())
    # A prompt changed: one request is new. Only it reaches the upstream; the recorded answers stay as they were.
    assert record(new, "record") == (1, {"replay": 1, "record": 1})
    lines = cassette.read_text().splitlines()
    assert recorded < set(lines) and len(lines) == 3
    assert record(old + new, "refresh") == (4, {"record": 4})
