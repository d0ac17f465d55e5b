"""Fault injection between the gateway and its upstream, seeded, for tests and benchmarks."""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

from llmops.errors import ConfigError
from llmops.llm.gateway.translate import UpstreamRequest
from llmops.llm.gateway.transport import Transport, UpstreamResponse, UpstreamTransportError


class Fault(StrEnum):
    NONE = "ok"
    RATE_LIMIT = "429"
    SERVER_ERROR = "500"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class FaultPlan:
    """Which share of upstream attempts fail, and how.

    `script` fixes the first attempts' faults in order (for example ("429", "ok")), then the shares
    apply, drawn from a generator seeded with `seed` so a run is repeatable. An injected timeout
    hangs for `timeout_seconds` (capped by the attempt's own timeout) and then fails like a real one.
    """

    rate_limit_share: float = 0.0
    retry_after_seconds: float = 1.0
    server_error_share: float = 0.0
    timeout_share: float = 0.0
    timeout_seconds: float = 0.2
    extra_latency_seconds: float = 0.0
    extra_latency_share: float = 1.0
    script: tuple[str, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        problems: list[str] = []
        shares = (
            ("rate_limit_share", self.rate_limit_share),
            ("server_error_share", self.server_error_share),
            ("timeout_share", self.timeout_share),
            ("extra_latency_share", self.extra_latency_share),
        )
        for name, share in shares:
            if not 0 <= share <= 1:
                problems.append(f"fault plan: {name}: {share!r} must be between 0 and 1")
        if self.rate_limit_share + self.server_error_share + self.timeout_share > 1:
            problems.append("fault plan: rate_limit_share + server_error_share + timeout_share must not exceed 1")
        valid = [f.value for f in Fault]
        for step in self.script:
            if step not in valid:
                problems.append(f"fault plan: script: unknown fault '{step}'; valid: {', '.join(valid)}")
        if problems:
            raise ConfigError(problems)


class FaultyTransport:
    """Wraps a transport and fails some of its attempts as the plan says."""

    def __init__(self, inner: Transport, plan: FaultPlan) -> None:
        self._inner = inner
        self._plan = plan
        self._rng = random.Random(plan.seed)
        self._script = list(plan.script)
        self._lock = threading.Lock()

    def _draw(self) -> tuple[Fault, bool]:
        plan = self._plan
        with self._lock:
            slow = plan.extra_latency_seconds > 0 and self._rng.random() < plan.extra_latency_share
            if self._script:
                return Fault(self._script.pop(0)), slow
            roll = self._rng.random()
        for fault, share in (
            (Fault.RATE_LIMIT, plan.rate_limit_share),
            (Fault.SERVER_ERROR, plan.server_error_share),
            (Fault.TIMEOUT, plan.timeout_share),
        ):
            if roll < share:
                return fault, slow
            roll -= share
        return Fault.NONE, slow

    def send(self, request: UpstreamRequest, timeout_s: float) -> UpstreamResponse:
        fault, slow = self._draw()
        if slow:
            time.sleep(self._plan.extra_latency_seconds)
        if fault == Fault.RATE_LIMIT:
            return _error_response(429, "injected rate limit", {"retry-after": f"{self._plan.retry_after_seconds:g}"})
        if fault == Fault.SERVER_ERROR:
            return _error_response(500, "injected server error", {})
        if fault == Fault.TIMEOUT:
            time.sleep(min(self._plan.timeout_seconds, timeout_s))
            raise UpstreamTransportError("injected timeout: no answer (timeout)")
        return self._inner.send(request, timeout_s)

    def close(self) -> None:
        self._inner.close()


def _error_response(status: int, message: str, headers: dict[str, str]) -> UpstreamResponse:
    body = json.dumps({"error": {"message": message, "type": "injected_fault", "code": str(status)}}).encode()
    return UpstreamResponse(status, body, {"content-type": "application/json", **headers})
