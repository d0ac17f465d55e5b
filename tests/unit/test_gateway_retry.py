from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from llmops.errors import ConfigError
from llmops.llm.gateway import retry
from llmops.llm.gateway.retry import RetryPolicy, backoff_delay, call_with_retries, parse_retry_after
from llmops.llm.gateway.transport import UpstreamResponse, UpstreamTransportError

NOW = datetime(2026, 11, 22, 5, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({}, None),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after": "-4"}, 0.0),
        ({"retry-after": "Sun, 22 Nov 2026 05:00:07 GMT"}, 7.0),
        ({"retry-after": "Sun, 22 Nov 2026 04:59:00 GMT"}, 0.0),  # a date in the past: retry now
        ({"retry-after": "soon"}, None),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),  # the finer header wins
        ({"retry-after-ms": "x", "retry-after": "9"}, 9.0),
    ],
)
def test_retry_after_as_seconds_date_or_milliseconds(headers: dict[str, str], seconds: float | None) -> None:
    assert parse_retry_after(headers, now=NOW) == seconds


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    policy = RetryPolicy(base_delay_seconds=0.5, max_delay_seconds=3.0)
    rng = random.Random(1)
    for failed, cap in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (9, 3.0)]:
        delays = [backoff_delay(policy, failed, rng) for _ in range(300)]
        assert 0 <= min(delays) < cap * 0.1 and cap * 0.9 < max(delays) <= cap


def scripted(*outcomes: int | str) -> tuple[Callable[[float], UpstreamResponse], list[float]]:
    """An attempt function answering with the given statuses, or failing for 'timeout'; records timeouts."""
    remaining = list(outcomes)
    timeouts: list[float] = []

    def attempt(timeout_s: float) -> UpstreamResponse:
        timeouts.append(timeout_s)
        outcome = remaining.pop(0)
        if outcome == "timeout":
            raise UpstreamTransportError("no answer within 1 s (timeout)")
        return UpstreamResponse(int(outcome), b'{"error": "sk-secret-1 failed"}', {})

    return attempt, timeouts


FAST = RetryPolicy(max_attempts=4, max_total_seconds=5, base_delay_seconds=0.001, attempt_timeout_seconds=2)
CASES = [
    # outcomes, attempts, exhausted, final status, last problem
    ((200,), 1, False, 200, ""),
    ((429, 503, "timeout", 200), 4, False, 200, ""),
    ((400,), 1, False, 400, ""),  # not retryable: passed through at once
    ((500, 500, 500, 500, 500), 4, True, 500, 'HTTP 500: {"error": "*** failed"}'),
    ((503, 502, 408, "timeout"), 4, True, None, "no answer within 1 s (timeout)"),
]


@pytest.mark.parametrize(("outcomes", "attempts", "exhausted", "status", "problem"), CASES)
def test_retries_until_an_answer_or_the_attempt_bound(
    outcomes: tuple[int | str, ...], attempts: int, exhausted: bool, status: int | None, problem: str
) -> None:
    attempt, timeouts = scripted(*outcomes)
    outcome = call_with_retries(FAST, attempt, random.Random(0), "upstream 'u'", secrets=["sk-secret-1"])
    final = outcome.response.status if outcome.response else None
    assert (outcome.attempts, outcome.exhausted, final, outcome.last_problem) == (
        attempts,
        exhausted,
        status,
        problem,
    )
    assert all(0 < t <= 2 for t in timeouts)


def test_a_retry_after_beyond_the_total_bound_stops_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = RetryPolicy(max_attempts=5, max_total_seconds=1.0)
    slept: list[float] = []
    # The retry module's clock, with a sleep that records: a wait of 30 s, or of what is left of 1 s, shows here.
    monkeypatch.setattr(retry, "time", SimpleNamespace(monotonic=time.monotonic, sleep=slept.append))

    def attempt(timeout_s: float) -> UpstreamResponse:
        return UpstreamResponse(429, b"busy", {"retry-after": "30"})

    outcome = call_with_retries(policy, attempt, random.Random(0), "upstream 'u'")
    assert (outcome.attempts, outcome.exhausted, slept) == (1, True, [])


def test_policy_refuses_non_positive_bounds() -> None:
    with pytest.raises(ConfigError) as raised:
        RetryPolicy(max_attempts=0, max_total_seconds=-1)
    assert raised.value.problems == [
        "retry policy: max_attempts: 0 must be positive",
        "retry policy: max_total_seconds: -1 must be positive",
    ]
