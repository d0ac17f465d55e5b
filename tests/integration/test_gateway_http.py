"""The gateway over real loopback HTTP: a real client, the real gateway and a real upstream server."""

from __future__ import annotations

import functools
import http.client
import json
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import openai
import pytest

from llmops.llm.gateway import (
    CallTotals,
    FaultPlan,
    Gateway,
    ModelPrice,
    PriceTable,
    RetryPolicy,
    Tag,
    Upstream,
    call_totals,
)
from llmops.llm.gateway.hashing import request_hash
from llmops.llm.gateway.loopback_upstream import LoopbackUpstream, ScriptedAnswer
from llmops.llm.gateway.routes import Endpoint

QUESTION: Any = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "What is a URL?"},
]
TOKEN = "test-session-token"  # what the flows of a session get; see test_gateway_auth.py
keyed_gateway = functools.partial(Gateway, token=TOKEN)
FAST_RETRY = RetryPolicy(max_attempts=4, max_total_seconds=5, base_delay_seconds=0.01, max_delay_seconds=0.05)


@pytest.fixture
def upstream() -> Iterator[LoopbackUpstream]:
    with LoopbackUpstream() as server:
        yield server


def azure_upstream(server: LoopbackUpstream, **overrides: Any) -> Upstream:
    return Upstream(
        **{"name": "stub-azure", "kind": "azure", "base_url": server.url, "api_key": "stub-key", **overrides}
    )


def post(base_url: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        headers = {"Content-Type": "application/json", "api-key": TOKEN}
        connection.request("POST", parts.path + path, body=json.dumps(body), headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def chat(
    base_url: str, temperature: float = 0.0, messages: list[dict[str, str]] = QUESTION, **extra: Any
) -> tuple[int, dict[str, Any]]:
    body = {"model": "gpt-35-turbo", "messages": messages, "temperature": temperature, **extra}
    status, _, raw = post(base_url, "/openai/deployments/gpt-35-turbo/chat/completions?api-version=2024-02-01", body)
    return status, json.loads(raw)


def rows(db: Path, columns: str) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(f"SELECT {columns} FROM llm_calls ORDER BY id").fetchall()


SHAPES = [
    # client shape, upstream kind, upstream path, auth header, auth value, model sent upstream
    (
        "azure",
        "azure",
        "/openai/deployments/gpt-35-turbo/chat/completions?api-version=2024-06-01",
        "api-key",
        "stub-key",
        "gpt-35-turbo",
    ),
    (
        "openai",
        "azure",
        "/openai/deployments/gpt-35-turbo/chat/completions?api-version=2024-06-01",
        "api-key",
        "stub-key",
        "gpt-35-turbo",
    ),
    ("azure", "openai", "/v1/chat/completions", "authorization", "Bearer stub-key", "gpt-35-turbo"),
    ("openai", "openai", "/v1/chat/completions", "authorization", "Bearer stub-key", "gpt-35-turbo"),
]


@pytest.mark.parametrize(
    ("client_shape", "upstream_kind", "upstream_path", "auth_header", "auth_value", "model"), SHAPES
)
def test_both_request_shapes_reach_either_upstream_kind(
    upstream: LoopbackUpstream,
    client_shape: str,
    upstream_kind: str,
    upstream_path: str,
    auth_header: str,
    auth_value: str,
    model: str,
) -> None:
    base = upstream.url if upstream_kind == "azure" else upstream.openai_base
    target = Upstream("stub", upstream_kind, base, api_key="stub-key", api_version="2024-06-01")
    with keyed_gateway({"aoai": target}) as gateway:
        url = gateway.route("aoai", client_shape, Tag(run="r"))
        client: openai.OpenAI
        if client_shape == "azure":
            client = openai.AzureOpenAI(api_key=TOKEN, azure_endpoint=url, api_version="2024-02-01", max_retries=0)
        else:
            client = openai.OpenAI(api_key=TOKEN, base_url=url, max_retries=0)
        answer = client.chat.completions.create(model="gpt-35-turbo", messages=QUESTION, temperature=0)
    received = upstream.requests[0]
    assert str(answer.choices[0].message.content).startswith("Simulated answer ")
    assert (received.path, received.headers[auth_header], received.body["model"]) == (
        upstream_path,
        auth_value,
        model,
    )
    assert "stream" not in received.body


def test_fixed_upstream_model_replaces_the_requested_one(upstream: LoopbackUpstream) -> None:
    target = Upstream("llama", "openai", upstream.openai_base, model="qwen2.5-coder-1.5b")
    with keyed_gateway({"aoai": target}) as gateway:
        status, _ = chat(gateway.route("aoai", "azure", Tag()))
    assert (status, upstream.requests[0].body["model"]) == (200, "qwen2.5-coder-1.5b")
    assert "authorization" not in upstream.requests[0].headers  # no key configured: none sent


def test_streaming_answer_carries_the_full_response(upstream: LoopbackUpstream) -> None:
    with keyed_gateway({"aoai": azure_upstream(upstream)}) as gateway:
        client = openai.AzureOpenAI(
            api_key=TOKEN,
            azure_endpoint=gateway.route("aoai", "azure", Tag()),
            api_version="2024-02-01",
            max_retries=0,
        )
        whole = client.chat.completions.create(model="gpt-35-turbo", messages=QUESTION, temperature=0)
        chunks = list(
            client.chat.completions.create(
                model="gpt-35-turbo",
                messages=QUESTION,
                temperature=0,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == whole.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices] == [None, "stop"]
    assert chunks[-1].usage == whole.usage
    assert ["stream" in r.body for r in upstream.requests] == [False, False]  # upstreams never stream


def test_cache_misses_then_hits_and_survives_a_restart(upstream: LoopbackUpstream, tmp_path: Path) -> None:
    cache, accounting = tmp_path / "cache.sqlite", tmp_path / "calls.sqlite"
    with keyed_gateway({"aoai": azure_upstream(upstream)}, cache_path=cache, accounting_path=accounting) as gateway:
        url = gateway.route("aoai", "azure", Tag(run="r1"))
        first, second = chat(url), chat(url)
        other = chat(url, messages=[{"role": "user", "content": "Something else?"}])
    with keyed_gateway({"aoai": azure_upstream(upstream)}, cache_path=cache, accounting_path=accounting) as gateway:
        after_restart = chat(gateway.route("aoai", "azure", Tag(run="r2")))
    assert first == second == after_restart
    assert first[0] == other[0] == 200 and other[1] != first[1]
    assert len(upstream.requests) == 2
    assert rows(accounting, "run, cache, attempts") == [
        ("r1", "miss", 1),
        ("r1", "hit", 0),
        ("r1", "miss", 1),
        ("r2", "hit", 0),
    ]


def test_a_request_sent_again_while_the_first_waits_is_answered_from_the_cache(tmp_path: Path) -> None:
    # A client that gives up on a call queued at a one-slot upstream sends it again; when the first copy is
    # answered, the second finds that answer once its slot comes, instead of asking the upstream twice.
    accounting = tmp_path / "calls.sqlite"
    with (
        LoopbackUpstream(latency_s=0.3) as slow,
        keyed_gateway({"aoai": azure_upstream(slow, max_concurrency=1)}, cache_path=tmp_path / "cache.sqlite",
                      accounting_path=accounting) as gateway,
    ):
        url = gateway.route("aoai", "azure", Tag(run="r"))
        answers: list[tuple[int, dict[str, Any]]] = []
        first = threading.Thread(target=lambda: answers.append(chat(url)))
        first.start()
        while not slow.requests:  # the first copy holds the slot
            time.sleep(0.01)
        answers.append(chat(url))
        first.join()
    assert len(slow.requests) == 1
    assert answers[0] == answers[1] and answers[0][0] == 200
    assert rows(accounting, "cache, attempts") == [("miss", 1), ("hit", 0)]


def test_disabled_cache_calls_the_upstream_every_time(upstream: LoopbackUpstream) -> None:
    with keyed_gateway({"aoai": azure_upstream(upstream)}, cache_path=None) as gateway:
        url = gateway.route("aoai", "azure", Tag())
        chat(url), chat(url)
    assert len(upstream.requests) == 2


def test_sampled_requests_get_a_repeat_index_per_run(upstream: LoopbackUpstream, tmp_path: Path) -> None:
    cache, accounting = tmp_path / "cache.sqlite", tmp_path / "calls.sqlite"
    with keyed_gateway({"aoai": azure_upstream(upstream)}, cache_path=cache, accounting_path=accounting) as gateway:
        url = gateway.route("aoai", "azure", Tag(run="trials"))
        for _ in range(3):
            chat(url, temperature=0.7)
        chat(url, temperature=0), chat(url, temperature=0)
    with keyed_gateway({"aoai": azure_upstream(upstream)}, cache_path=cache, accounting_path=accounting) as gateway:
        url = gateway.route("aoai", "azure", Tag(run="trials"))
        for _ in range(4):
            chat(url, temperature=0.7)
    sampled = [0.7, 0.7, 0.7, 0.0, 0.0, 0.7, 0.7, 0.7, 0.7]
    outcomes = [cache for (cache,) in rows(accounting, "cache")]
    assert list(zip(sampled, outcomes, strict=True)) == [
        (0.7, "miss"),
        (0.7, "miss"),
        (0.7, "miss"),
        (0.0, "miss"),
        (0.0, "hit"),
        (0.7, "hit"),
        (0.7, "hit"),
        (0.7, "hit"),
        (0.7, "miss"),  # the 4th trial is new: repeat index 3
    ]
    hashes = [h for (h,) in rows(accounting, "request_hash")]
    assert len(set(hashes[:3])) == 3 and hashes[5:8] == hashes[:3]


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


def test_rate_limit_then_success(upstream: LoopbackUpstream, tmp_path: Path) -> None:
    upstream.push(ScriptedAnswer(429, "slow down", {"retry-after": "0"}))
    with keyed_gateway(
        {"aoai": azure_upstream(upstream)}, retry=FAST_RETRY, accounting_path=tmp_path / "calls.sqlite"
    ) as gateway:
        status, answer = chat(gateway.route("aoai", "azure", Tag(run="r")))
    assert (status, len(upstream.requests)) == (200, 2)
    assert answer["choices"][0]["message"]["content"].startswith("Simulated answer ")
    assert rows(tmp_path / "calls.sqlite", "status, attempts, error") == [(200, 2, "")]


@pytest.mark.parametrize("retry_after", ["0.4", "retry-after-ms:400"])
def test_retry_after_is_honoured(upstream: LoopbackUpstream, retry_after: str) -> None:
    header = {"retry-after-ms": "400"} if retry_after.startswith("retry-after-ms") else {"retry-after": retry_after}
    upstream.push(ScriptedAnswer(429, "slow down", header))
    policy = RetryPolicy(max_attempts=3, max_total_seconds=5, base_delay_seconds=0.001)
    with keyed_gateway({"aoai": azure_upstream(upstream)}, retry=policy) as gateway:
        status, _ = chat(gateway.route("aoai", "azure", Tag()))
    waited = upstream.requests[1].received_at - upstream.requests[0].received_at
    assert status == 200
    assert 0.4 <= waited < 0.6


BOUNDS = [
    # policy, upstream attempts expected, most seconds the call may take
    (
        RetryPolicy(max_attempts=4, max_total_seconds=10, base_delay_seconds=0.02, max_delay_seconds=0.05),
        4,
        1.0,
    ),
    (
        RetryPolicy(max_attempts=1000, max_total_seconds=0.6, base_delay_seconds=0.1, max_delay_seconds=0.1),
        None,
        0.75,
    ),
]


@pytest.mark.parametrize(("policy", "expected_attempts", "most_seconds"), BOUNDS)
def test_server_error_that_never_recovers_fails_after_the_bound(
    upstream: LoopbackUpstream,
    tmp_path: Path,
    policy: RetryPolicy,
    expected_attempts: int | None,
    most_seconds: float,
) -> None:
    upstream.push(*[ScriptedAnswer(503, "overloaded")] * 1000)
    with keyed_gateway(
        {"aoai": azure_upstream(upstream)}, retry=policy, accounting_path=tmp_path / "calls.sqlite"
    ) as gateway:
        started = time.monotonic()
        status, headers, raw = post(
            gateway.route("aoai", "azure", Tag()),
            "/openai/deployments/gpt-35-turbo/chat/completions",
            {"messages": QUESTION, "temperature": 0},
        )
        elapsed = time.monotonic() - started
    attempts = len(upstream.requests)
    message = json.loads(raw)["error"]["message"]
    assert (status, headers["x-should-retry"]) == (424, "false")
    assert attempts == expected_attempts if expected_attempts else 3 <= attempts < 20
    assert elapsed < most_seconds
    assert message.startswith(f"upstream 'stub-azure' (gpt-35-turbo) failed after {attempts} attempts in ")
    assert message.endswith(
        f"(gateway retry bound: max_attempts={policy.max_attempts}, "
        f"max_total_seconds={policy.max_total_seconds:g});"
        ' last error: HTTP 503: {"error": {"message": "overloaded", "type": "scripted", "code": "503"}};'
        " check that the upstream is up, or raise the bound in RetryPolicy"
    )
    assert rows(tmp_path / "calls.sqlite", "status, attempts") == [(424, attempts)]


def test_slow_upstream_times_out_within_the_bound(tmp_path: Path) -> None:
    policy = RetryPolicy(max_attempts=2, max_total_seconds=5, attempt_timeout_seconds=0.1, base_delay_seconds=0.01)
    with (
        LoopbackUpstream(latency_s=0.5) as slow,
        keyed_gateway({"aoai": azure_upstream(slow)}, retry=policy) as gateway,
    ):
        started = time.monotonic()
        status, answer = chat(gateway.route("aoai", "azure", Tag()))
        elapsed = time.monotonic() - started
    assert status == 424 and elapsed < 0.4
    assert "failed after 2 attempts" in answer["error"]["message"]
    assert "last error: no answer within 0.1 s (timeout)" in answer["error"]["message"]


def test_concurrency_limit_is_respected() -> None:
    with (
        LoopbackUpstream(latency_s=0.1) as slow,
        keyed_gateway({"aoai": azure_upstream(slow, max_concurrency=2)}) as gateway,
    ):
        url = gateway.route("aoai", "azure", Tag())
        statuses: list[int] = []
        threads = [
            threading.Thread(
                target=lambda i=i: statuses.append(
                    chat(url, messages=[{"role": "user", "content": f"question {i}"}])[0]
                )
            )
            for i in range(8)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    assert statuses == [200] * 8
    assert slow.peak_concurrency == 2
    assert elapsed >= 0.4  # 8 calls of 0.1 s, two at a time


def test_tags_reach_the_accounting(upstream: LoopbackUpstream, tmp_path: Path) -> None:
    accounting = tmp_path / "calls.sqlite"
    with keyed_gateway({"aoai": azure_upstream(upstream)}, accounting_path=accounting) as gateway:
        for variant, line in (("v0", 0), ("v0", 1), ("v1", 0)):
            url = gateway.route(
                "aoai", "azure", Tag(run="exp-1", variant=variant, flow="web", node="classify", line=line)
            )
            chat(url, messages=[{"role": "user", "content": f"{variant} line {line}"}])
    per_variant = call_totals(accounting, group_by=("run", "variant"))
    assert rows(accounting, "run, variant, flow, node, line, connection, upstream, model, endpoint, status") == [
        ("exp-1", "v0", "web", "classify", 0, "aoai", "stub-azure", "gpt-35-turbo", "chat", 200),
        ("exp-1", "v0", "web", "classify", 1, "aoai", "stub-azure", "gpt-35-turbo", "chat", 200),
        ("exp-1", "v1", "web", "classify", 0, "aoai", "stub-azure", "gpt-35-turbo", "chat", 200),
    ]
    assert [(t.group, t.calls) for t in per_variant] == [
        ({"run": "exp-1", "variant": "v0"}, 2),
        ({"run": "exp-1", "variant": "v1"}, 1),
    ]


def test_cost_comes_from_the_price_table(upstream: LoopbackUpstream, tmp_path: Path) -> None:
    prices = PriceTable({"gpt-35-turbo": ModelPrice(prompt_per_1k=0.5, completion_per_1k=1.5)})
    with keyed_gateway(
        {"aoai": azure_upstream(upstream)},
        prices=prices,
        cache_path=tmp_path / "cache.sqlite",
        accounting_path=tmp_path / "calls.sqlite",
    ) as gateway:
        url = gateway.route("aoai", "azure", Tag(run="priced"))
        _, answer = chat(url)
        chat(url)  # a cache hit: no money spent
        totals: CallTotals = gateway.run_totals("priced")
    usage = answer["usage"]
    expected = (usage["prompt_tokens"] * 0.5 + usage["completion_tokens"] * 1.5) / 1000
    assert rows(tmp_path / "calls.sqlite", "cache, cost_usd") == [
        ("miss", pytest.approx(expected)),
        ("hit", 0.0),
    ]
    assert (totals.calls, totals.cache_hits, totals.cost_usd) == (2, 1, pytest.approx(expected))
    assert totals.prompt_tokens == 2 * usage["prompt_tokens"]


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


def test_injected_faults_are_retried_over_real_http(upstream: LoopbackUpstream, tmp_path: Path) -> None:
    plan = FaultPlan(rate_limit_share=0.3, retry_after_seconds=0.01, server_error_share=0.2, seed=7)
    policy = RetryPolicy(max_attempts=10, base_delay_seconds=0.005, max_delay_seconds=0.02)
    with keyed_gateway(
        {"aoai": azure_upstream(upstream)},
        faults=plan,
        retry=policy,
        accounting_path=tmp_path / "calls.sqlite",
    ) as gateway:
        url = gateway.route("aoai", "azure", Tag(run="chaos"))
        statuses = [chat(url, messages=[{"role": "user", "content": f"q{i}"}])[0] for i in range(20)]
        totals = gateway.run_totals("chaos")
    assert statuses == [200] * 20
    assert len(upstream.requests) == 20  # injected faults never reached the upstream
    assert totals.attempts > totals.calls == 20


ROUTING_ERRORS = [
    (
        "/x/0000000000000000/v1/chat/completions",
        404,
        "unknown gateway route tag '0000000000000000'; routes are made by Gateway.route() and last as "
        "long as that gateway: give the flow a connection from the running gateway",
    ),
    (
        "/v2/chat/completions",
        404,
        "unknown gateway path '/v2/chat/completions'; valid: /v1/chat/completions, /v1/completions, "
        "/v1/embeddings, /openai/deployments/{deployment}/chat/completions, "
        "/openai/deployments/{deployment}/completions, /openai/deployments/{deployment}/embeddings, "
        "each optionally after /x/<tag>",
    ),
    (
        "/v1/chat/completions",
        400,
        "request body has no 'model'; OpenAI-shaped calls must name the model (prompt flow: set the LLM "
        "node's model input)",
    ),
]


@pytest.mark.parametrize(("path", "status", "message"), ROUTING_ERRORS)
def test_routing_errors_say_what_to_do(upstream: LoopbackUpstream, path: str, status: int, message: str) -> None:
    with keyed_gateway({"aoai": azure_upstream(upstream)}) as gateway:
        answer = post(gateway.url, path, {"messages": QUESTION})
    assert (answer[0], json.loads(answer[2])["error"]["message"]) == (status, message)


def test_health_and_untagged_calls(upstream: LoopbackUpstream) -> None:
    with keyed_gateway({"aoai": azure_upstream(upstream)}) as gateway:
        parts = urlsplit(gateway.url)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
        connection.request("GET", "/health")
        health = connection.getresponse()
        assert (health.status, json.loads(health.read())) == (200, {"status": "ok"})
        status, _, raw = post(gateway.url, "/v1/embeddings", {"model": "text-embedding-3-small", "input": ["a", "b"]})
    assert status == 200 and [len(d["embedding"]) for d in json.loads(raw)["data"]] == [1536, 1536]
    assert upstream.requests[0].path == "/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-02-01"


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
    with keyed_gateway({"aoai": azure_upstream(upstream)}) as gateway:
        connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=5)
        sockets = set()
        for index in range(3):
            body = json.dumps({"messages": [{"role": "user", "content": f"q{index}"}], "temperature": 0})
            connection.request(
                "POST", "/openai/deployments/gpt-35-turbo/chat/completions", body=body, headers={"api-key": TOKEN}
            )
            response = connection.getresponse()
            assert response.status == 200 and json.loads(response.read())["object"] == "chat.completion"
            sockets.add(id(connection.sock))
        started = time.monotonic()
    stop_seconds = time.monotonic() - started
    connection.close()
    assert len(sockets) == 1  # one TCP connection for all three calls
    assert stop_seconds < 1.0
