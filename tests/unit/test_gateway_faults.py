from __future__ import annotations

import time

import pytest

from llmops.llm.gateway.faults import FaultPlan, FaultyTransport
from llmops.llm.gateway.routes import Endpoint
from llmops.llm.gateway.simulated import SimulatedTransport
from llmops.llm.gateway.translate import build_upstream_request
from llmops.llm.gateway.transport import UpstreamTransportError
from llmops.llm.gateway.upstream import Upstream

REQUEST = build_upstream_request(
    Upstream("sim", "simulated"),
    Endpoint.CHAT,
    "gpt-35-turbo",
    {"messages": [{"role": "user", "content": "hi"}], "temperature": 0},
)


def outcomes(plan: FaultPlan, count: int) -> list[str]:
    transport = FaultyTransport(SimulatedTransport(0.0), plan)
    seen = []
    for _ in range(count):
        try:
            seen.append(str(transport.send(REQUEST, timeout_s=1.0).status))
        except UpstreamTransportError:
            seen.append("timeout")
    return seen


def test_script_comes_first_then_seeded_shares() -> None:
    plan = FaultPlan(
        rate_limit_share=0.25,
        server_error_share=0.25,
        timeout_share=0.1,
        timeout_seconds=0.0,
        script=("429", "timeout", "ok"),
        seed=3,
    )
    first, again = outcomes(plan, 400), outcomes(plan, 400)
    assert first == again  # seeded: the same plan fails the same attempts
    assert first[:3] == ["429", "timeout", "200"]
    shares = {kind: first[3:].count(kind) / 397 for kind in ("429", "500", "timeout", "200")}
    assert shares == pytest.approx({"429": 0.25, "500": 0.25, "timeout": 0.1, "200": 0.4}, abs=0.06)


def test_injected_rate_limit_carries_retry_after() -> None:
    transport = FaultyTransport(SimulatedTransport(0.0), FaultPlan(script=("429",), retry_after_seconds=2.5))
    answer = transport.send(REQUEST, timeout_s=1.0)
    assert (answer.status, answer.headers["retry-after"]) == (429, "2.5")


def test_extra_latency_and_timeouts_take_real_time() -> None:
    slow = FaultyTransport(SimulatedTransport(0.0), FaultPlan(extra_latency_seconds=0.05))
    started = time.monotonic()
    assert slow.send(REQUEST, timeout_s=1.0).status == 200
    assert time.monotonic() - started >= 0.05
    hanging = FaultyTransport(SimulatedTransport(0.0), FaultPlan(script=("timeout",), timeout_seconds=5))
    started = time.monotonic()
    with pytest.raises(UpstreamTransportError, match="injected timeout"):
        hanging.send(REQUEST, timeout_s=0.05)  # capped by the attempt's own timeout
    # At least the attempt's 0.05 s; under 2.5 s catches a hang of the plan's whole 5 s, past the attempt's timeout.
    assert 0.05 <= time.monotonic() - started < 2.5
