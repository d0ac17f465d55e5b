"""CONCURRENCY bounds the LLM calls in flight per service; runs keep half again as many lines going."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops.backends.local.engine.flow_runner import FlowRunner
from llmops.backends.local.engine.run_execution import lines_in_flight
from llmops.llm.gateway.simulated import SimulatedTransport
from tests.support.generated_use_case import write
from tests.support.in_flight import InFlight


@pytest.mark.parametrize(("concurrency", "lines"), [(4, 6), (1, 2), (16, 24)])
def test_lines_in_flight(concurrency: int, lines: int) -> None:
    assert lines_in_flight(concurrency) == lines


def test_llm_calls_never_exceed_concurrency_while_more_lines_run(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from llmops.config.use_case import load_use_case
    from llmops.config.workspace import Workspace
    from llmops.llm.providers import Use
    from llmops.llm.session import LlmSession, LlmSettings
    from llmops.steps.experiment import experiment
    from llmops.steps.register_data import register_data

    calls, lines = InFlight(), InFlight()
    monkeypatch.setattr(SimulatedTransport, "send", calls.counting(SimulatedTransport.send))
    monkeypatch.setattr(FlowRunner, "run_line_async", lines.counting_async(FlowRunner.run_line_async))
    write(tmp_path, "gen", [{"text": f"question {i}"} for i in range(30)], llm_variants=2, concurrency=4)
    workspace = Workspace.find(tmp_path)
    use_case = load_use_case(workspace, "gen", check=False)
    register_data(workspace, use_case, "bench")
    flow = use_case.standard_flow("bench")
    settings = LlmSettings(state_dir=workspace.state_dir, cassette_dir=tmp_path / "cassettes", provider="simulated",
                           simulated_latency_s=0.05, cache=False, max_concurrency=4)
    with LlmSession(settings, [Use(flow.name, node, conn) for node, conn in flow.connections()]) as session:
        result = experiment(workspace, use_case, "bench", session)

    assert [r.record.lines_failed for r in result.runs] == [0, 0]
    assert calls.peak == 4  # the limit held, and was used
    assert lines.peak == 6  # the extra lines waited at the gateway instead of leaving the model idle
