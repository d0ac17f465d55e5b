"""Retries with exponential backoff and full jitter, honouring Retry-After, within two bounds."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from llmops.errors import ConfigError
from llmops.llm.gateway.redaction import redact_text
from llmops.llm.gateway.transport import UpstreamResponse, UpstreamTransportError

logger = logging.getLogger(__name__)

_SNIPPET_CHARS = 200

class RetryNotice:
    """Says the first retry of each upstream once, at info.

    An outage fails every call of every line, several attempts each: a log line per attempt drowned the
    run's output (120 lines for a 10-line run). Attempts are logged at debug (--verbose); the first
    retry of each upstream is said once, so a long wait does not look like a hang. One notice per
    gateway: a process-wide memory kept a second gateway in the same process from saying it at all."""

    def __init__(self) -> None:
        self._said: set[str] = set()
        self._lock = threading.Lock()

    def first_retry(self, describe: str, problem: str) -> None:
        with self._lock:
            first = describe not in self._said
            self._said.add(describe)
        if first:
            logger.info("%s: %s; retrying with backoff (each attempt is logged with --verbose)", describe, problem)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the gateway tries one call before it fails the line.

    A call stops at whichever comes first: `max_attempts` attempts, or `max_total_seconds` since the
    first attempt started (waiting for a free concurrency slot does not count). Each attempt may take
    at most `attempt_timeout_seconds` (and never beyond the total bound).
    """

    max_attempts: int = 5
    max_total_seconds: float = 120.0
    base_delay_seconds: float = 0.5
    max_delay_seconds: float = 20.0
    attempt_timeout_seconds: float = 300.0

    def __post_init__(self) -> None:
        problems = [
            f"retry policy: {name}: {value!r} must be positive"
            for name, value in (
                ("max_attempts", self.max_attempts),
                ("max_total_seconds", self.max_total_seconds),
                ("attempt_timeout_seconds", self.attempt_timeout_seconds),
            )
            if value <= 0
        ]
        if problems:
            raise ConfigError(problems)


def is_retryable_status(status: int) -> bool:
    return status in (408, 429) or status >= 500


def parse_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds the upstream asked us to wait: retry-after-ms, or Retry-After as seconds or an HTTP-date."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_delay(policy: RetryPolicy, failed_attempts: int, rng: random.Random) -> float:
    """Full jitter (AWS architecture blog): uniform over [0, min(cap, base * 2^(n-1))]."""
    ceiling = min(policy.max_delay_seconds, policy.base_delay_seconds * 2 ** (failed_attempts - 1))
    return rng.uniform(0, ceiling)


@dataclass(frozen=True)
class RetryOutcome:
    response: UpstreamResponse | None  # the last response; None when the last attempt got none
    attempts: int
    elapsed_s: float
    exhausted: bool  # True when the bounds ran out on a retryable failure
    last_problem: str  # what went wrong last, for the error message ("" on success)


def call_with_retries(
    policy: RetryPolicy,
    attempt: Callable[[float], UpstreamResponse],
    rng: random.Random,
    describe: str,
    secrets: Sequence[str] = (),
    notice: RetryNotice | None = None,
) -> RetryOutcome:
    """Run `attempt(timeout_s)` until it gives a non-retryable answer or a bound is reached.

    Upstream error bodies can echo the key they were sent; `secrets` are masked in everything logged.
    """
    notice = notice or RetryNotice()
    started = time.monotonic()
    response: UpstreamResponse | None = None
    problem = ""
    attempts = 0
    while attempts < policy.max_attempts:
        remaining = policy.max_total_seconds - (time.monotonic() - started)
        if remaining <= 0:
            break
        attempts += 1
        wait: float | None = None
        try:
            response = attempt(min(policy.attempt_timeout_seconds, remaining))
        except UpstreamTransportError as error:
            response, problem = None, redact_text(str(error), secrets)
        else:
            if not is_retryable_status(response.status):
                return RetryOutcome(response, attempts, time.monotonic() - started, False, "")
            snippet = response.body[:_SNIPPET_CHARS].decode(errors="replace")
            problem = redact_text(f"HTTP {response.status}: {snippet}", secrets)
            wait = parse_retry_after(response.headers)
        if attempts >= policy.max_attempts:
            break
        delay = wait if wait is not None else backoff_delay(policy, attempts, rng)
        elapsed = time.monotonic() - started
        if elapsed + delay >= policy.max_total_seconds:
            logger.debug(
                "%s: attempt %d failed (%s); waiting %.2f s would pass the %.1f s bound, giving up",
                describe,
                attempts,
                problem,
                delay,
                policy.max_total_seconds,
            )
            break
        notice.first_retry(describe, problem)
        logger.debug(
            "%s: attempt %d/%d failed (%s); retrying in %.2f s",
            describe,
            attempts,
            policy.max_attempts,
            problem,
            delay,
        )
        time.sleep(delay)
    return RetryOutcome(response, attempts, time.monotonic() - started, True, problem)
