"""Retries over real loopback HTTP: rate limits and Retry-After, the attempt and time bounds of a failing
upstream, attempt timeouts, and injected faults."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from llmops.llm.gateway import FaultPlan, RetryPolicy, Tag
from tests.support.gateway_http import FAST_RETRY, QUESTION, azure_upstream, chat, keyed_gateway, post, rows
from tests.support.loopback_upstream import LoopbackUpstream, ScriptedAnswer

pytest_plugins = ["tests.support.gateway_fixtures"]  # the upstream fixture


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
    # At least the 0.4 s asked for; under 2.5 s catches "0.4" read as 4 s, which the 5 s bound would allow.
    assert 0.4 <= waited < 2.5


BOUNDS = [
    # policy, upstream attempts expected (None: bounded by time; a loop ignoring the 0.6 s bound would make 1000)
    (RetryPolicy(max_attempts=4, max_total_seconds=10, base_delay_seconds=0.02, max_delay_seconds=0.05), 4),
    (RetryPolicy(max_attempts=1000, max_total_seconds=0.6, base_delay_seconds=0.1, max_delay_seconds=0.1), None),
]


@pytest.mark.parametrize(("policy", "expected_attempts"), BOUNDS)
def test_server_error_that_never_recovers_fails_after_the_bound(
    upstream: LoopbackUpstream, tmp_path: Path, policy: RetryPolicy, expected_attempts: int | None
) -> None:
    upstream.push(*[ScriptedAnswer(503, "overloaded")] * 1000)
    with keyed_gateway(
        {"aoai": azure_upstream(upstream)}, retry=policy, accounting_path=tmp_path / "calls.sqlite"
    ) as gateway:
        status, headers, raw = post(
            gateway.route("aoai", "azure", Tag()),
            "/openai/deployments/gpt-35-turbo/chat/completions",
            {"messages": QUESTION, "temperature": 0},
        )
    attempts = len(upstream.requests)
    message = json.loads(raw)["error"]["message"]
    assert (status, headers["x-should-retry"]) == (424, "false")
    assert attempts == expected_attempts if expected_attempts else 3 <= attempts < 20
    assert message.startswith(f"upstream 'stub-azure' (gpt-35-turbo) failed after {attempts} attempts in ")
    assert message.endswith(
        f"(gateway retry bound: max_attempts={policy.max_attempts}, "
        f"max_total_seconds={policy.max_total_seconds:g});"
        ' last error: HTTP 503: {"error": {"message": "overloaded", "type": "scripted", "code": "503"}};'
        " check that the upstream is up"
    )
    assert rows(tmp_path / "calls.sqlite", "status, attempts") == [(424, attempts)]


def test_slow_upstream_times_out_within_the_bound(tmp_path: Path) -> None:
    policy = RetryPolicy(max_attempts=2, max_total_seconds=5, attempt_timeout_seconds=0.1, base_delay_seconds=0.01)
    with (
        LoopbackUpstream(latency_s=5.0) as slow,
        keyed_gateway({"aoai": azure_upstream(slow)}, retry=policy) as gateway,
    ):
        started = time.monotonic()
        status, answer = chat(gateway.route("aoai", "azure", Tag()))
        elapsed = time.monotonic() - started
    # Two attempts cut at 0.1 s take about 0.2 s; an attempt that waited for the 5 s answer would take 5 s or more.
    assert status == 424 and elapsed < 2.5
    assert "failed after 2 attempts" in answer["error"]["message"]
    assert "last error: no answer within 0.1 s (timeout)" in answer["error"]["message"]


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
