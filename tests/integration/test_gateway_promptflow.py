"""A real prompt flow LLM node, run in process by FlowExecutor, calling through the gateway."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from llmops.llm.gateway import FaultPlan, Gateway, RetryPolicy, Tag, Upstream

FLOW_YAML = """\
inputs:
  question:
    type: string
outputs:
  answer:
    type: string
    reference: ${ask.output}
nodes:
- name: ask
  type: llm
  source:
    type: code
    path: ask.jinja2
  inputs:
    deployment_name: gpt-35-turbo
    temperature: 0
    max_tokens: 32
    question: ${inputs.question}
  connection: aoai
  api: chat
"""
PROMPT = "# system:\nYou answer in one short sentence.\n\n# user:\n{{question}}\n"


@pytest.fixture
def flow_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # No trace service, and run records in the test's own directory.
    monkeypatch.setenv("PF_TRACING_SKIP_LOCAL_SETUP", "true")
    monkeypatch.setenv("PF_HOME_DIRECTORY", str(tmp_path / "pf_home"))
    directory = tmp_path / "flow"
    directory.mkdir()
    (directory / "flow.dag.yaml").write_text(FLOW_YAML)
    (directory / "ask.jinja2").write_text(PROMPT)
    return directory


def run_line(flow_dir: Path, connection: dict[str, Any], question: str) -> Any:
    from promptflow.executor import FlowExecutor

    executor = FlowExecutor.create(flow_dir / "flow.dag.yaml", connections={"aoai": connection}, working_dir=flow_dir)
    return executor.exec_line({"question": question}, index=0)


def test_flow_line_runs_through_the_gateway(flow_dir: Path, tmp_path: Path) -> None:
    accounting = tmp_path / "calls.sqlite"
    tag = Tag(run="web-pr-v0", variant="v0", flow="tiny", node="ask")
    with Gateway(
        {"aoai": Upstream("sim", "simulated", api_key="real-key-stays-here")}, accounting_path=accounting
    ) as gateway:
        connection = gateway.promptflow_connection("aoai", "azure", tag)
        assert connection == {
            "type": "AzureOpenAIConnection",
            "value": {
                "api_key": gateway.token,
                "api_base": gateway.route("aoai", "azure", tag),
                "api_type": "azure",
                "api_version": "2024-02-01",
            },
        }
        result = run_line(flow_dir, connection, "What is a URL?")
        token = gateway.token
    assert result.run_info.status.value == "Completed"
    # The session token is a key too: in no run record and no file (it changes per session, so a
    # record or cache keyed on it would also never match again).
    records = repr([result.run_info, *result.node_run_infos.values()])
    assert "'deployment_name': 'gpt-35-turbo'" in records and token not in records
    assert [p for p in tmp_path.rglob("*") if p.is_file() and token.encode() in p.read_bytes()] == []
    assert result.output["answer"].startswith("Simulated answer ")
    with sqlite3.connect(accounting) as db:
        recorded = db.execute(
            "SELECT run, variant, flow, node, model, endpoint, status, completion_tokens > 0 FROM llm_calls"
        ).fetchall()
    assert recorded == [("web-pr-v0", "v0", "tiny", "ask", "gpt-35-turbo", "chat", 200, 1)]


def test_failing_upstream_fails_the_line_after_the_gateway_bound(flow_dir: Path, tmp_path: Path) -> None:
    accounting = tmp_path / "calls.sqlite"
    policy = RetryPolicy(max_attempts=3, max_total_seconds=5, base_delay_seconds=0.01, max_delay_seconds=0.02)
    with Gateway(
        {"aoai": Upstream("sim", "simulated")},
        retry=policy,
        faults=FaultPlan(server_error_share=1.0),
        accounting_path=accounting,
    ) as gateway:
        from promptflow.tools.exception import WrappedOpenAIError

        connection = gateway.promptflow_connection("aoai", "azure", Tag(run="broken", node="ask"))
        with pytest.raises(WrappedOpenAIError) as raised:
            run_line(flow_dir, connection, "What is a URL?")
        totals = gateway.run_totals("broken")
    message = str(raised.value)
    assert message.startswith(
        "OpenAI API hits APIStatusError: Error code: 424 - upstream 'sim' (gpt-35-turbo) failed after 3 attempts in "
    )
    assert "; last error: HTTP 500: " in message and "injected server error" in message
    # One call reached the gateway: prompt flow's tool did not retry the 424 answer.
    assert (totals.calls, totals.attempts, totals.failed_calls) == (1, 3, 1)


REFUSALS = [
    (401, "provider answered 401 Unauthorized for connection 'aoai' (.env line 3): check its api_key"),
    (
        403,
        "provider answered 403 Forbidden for connection 'aoai' (.env line 3): check that its api_key may use "
        "this deployment or model",
    ),
]


@pytest.mark.parametrize(("status", "expected"), REFUSALS)
def test_provider_refusal_names_the_connection_and_its_line(
    flow_dir: Path, tmp_path: Path, status: int, expected: str
) -> None:
    from promptflow.tools.exception import WrappedOpenAIError

    from llmops.llm.connections import read_connections
    from llmops.llm.providers import Use
    from llmops.llm.session import LlmSession, LlmSettings
    from tests.support.loopback_upstream import LoopbackUpstream, ScriptedAnswer

    key = "sk-refused-0123456789abcdef"
    with LoopbackUpstream(script=[ScriptedAnswer(status, f"Access denied for key {key}")]) as upstream:
        line = json.dumps({"api_key": key, "api_base": upstream.url, "api_type": "azure"})
        (tmp_path / ".env").write_text(f"# LLM connections\nEXPERIMENT=web\naoai={line}\n")
        settings = LlmSettings(state_dir=tmp_path / "state", cassette_dir=tmp_path / "cassettes",
                               provider="azure_openai", connections=read_connections(tmp_path / ".env"))
        with LlmSession(settings, [Use("tiny", "ask", "aoai")]) as session:
            connection = session.gateway.promptflow_connection("aoai", "azure", Tag(run="r", flow="tiny", node="ask"))
            with pytest.raises(WrappedOpenAIError) as raised:
                run_line(flow_dir, connection, "What is a URL?")
    message = str(raised.value)
    assert f"Error code: {status} - {expected} [Error reference: " in message
    assert key not in message and len(upstream.requests) == 1
