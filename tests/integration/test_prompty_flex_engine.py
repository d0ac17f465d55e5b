"""Prompty and flex flows on the local engine, in process: each prepared from its snapshot, its connections routed
through a real gateway (simulated upstream) and its lines run by the same line loop as DAG flows."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmops.backends.local.engine.flow_runner import LineBatch, run_batches
from llmops.backends.local.engine.prepared_flow import prepare
from llmops.backends.local.engine.promptflow_env import configure_promptflow
from llmops.backends.types import LineOutcome
from llmops.config.flow import Flow, load_flow
from llmops.config.problems import Problem
from llmops.llm.connections import Connection
from llmops.llm.providers import Use
from llmops.llm.session import LlmSession, LlmSettings
from tests.support.loopback_upstream import LoopbackUpstream

REAL_KEY = "sk-real-key-of-this-process-0123"

PROMPTY = """\
---
name: Answer
model:
  api: chat
  configuration:
    type: azure_openai
    azure_deployment: gpt-4o
    api_key: ${env:AZURE_OPENAI_API_KEY}
    azure_endpoint: ${env:AZURE_OPENAI_ENDPOINT}
  parameters:
    max_tokens: 16
inputs:
  question:
    type: string
---
system:
Answer briefly.

user:
{{question}}
"""
FROM_ENVIRONMENT = "    api_key: ${env:AZURE_OPENAI_API_KEY}\n    azure_endpoint: ${env:AZURE_OPENAI_ENDPOINT}\n"
VARIANT = PROMPTY.replace(FROM_ENVIRONMENT, "    connection: aoai\n").replace("Answer briefly.", "Answer in one word.")

# Two flex flows whose entry modules are both `flow`, as in prompt flow's examples: each must run its own.
SDK_FLOW = '''\
import os

from openai import OpenAI


def chat(question: str) -> dict:
    reply = OpenAI().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": question}])
    return {"answer": reply.choices[0].message.content, "which": "sdk",
            "saw_real_key": os.environ.get("OPENAI_API_KEY") == "REAL_KEY"}
'''.replace("REAL_KEY", REAL_KEY)
CLASS_FLOW = '''\
import os
from pathlib import Path

from promptflow.core import AzureOpenAIModelConfiguration, Prompty


class Judge:
    def __init__(self, model_config: AzureOpenAIModelConfiguration, scale: int = 5):
        self.model_config = model_config
        self.scale = scale

    def __call__(self, question: str) -> dict:
        source = Path(__file__).parent / "judge.prompty"
        prompty = Prompty.load(source=source, model={"configuration": self.model_config})
        return {"answer": prompty(question=question), "which": "class", "scale": self.scale,
                "key_visible": ("OPENAI_" + "API_KEY") in os.environ}  # spelled apart: not a use of the variable

    def __aggregate__(self, line_results: list) -> dict:
        return {"lines": len(line_results), "scale": line_results[0].scale}
'''
ASYNC_STREAM_FLOW = '''\
import asyncio


async def chat(question: str):
    for word in question.split():
        await asyncio.sleep(0)
        yield word.upper() + " "
'''


@pytest.fixture
def flows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("OPENAI_API_KEY", REAL_KEY)  # a real key in the process: no flow may see it
    configure_promptflow(tmp_path / "state")
    files = {
        "answer/answer.prompty": PROMPTY, "answer/answer_one_word.prompty": VARIANT,
        "sdk/flow.flex.yaml": "entry: flow:chat\n", "sdk/flow.py": SDK_FLOW,
        "judge/flow.flex.yaml": "entry: flow:Judge\nsample:\n  init:\n    scale: 3\n",
        "judge/init.json": json.dumps({"model_config": {"connection": "aoai", "azure_deployment": "gpt-4o"}}),
        "judge/flow.py": CLASS_FLOW, "judge/judge.prompty": PROMPTY,
        "stream/flow.flex.yaml": "entry: flow:chat\n", "stream/flow.py": ASYNC_STREAM_FLOW,
    }
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text, encoding="utf-8")
    return {"answer": tmp_path / "answer/answer.prompty", "sdk": tmp_path / "sdk", "judge": tmp_path / "judge",
            "stream": tmp_path / "stream"}


def load(path: Path, variants: tuple[str, ...] = ()) -> Flow:
    problems: list[Problem] = []
    flow = load_flow(path, None, problems, ("test", "flow"), variants)
    assert flow is not None and not problems, problems
    return flow


@pytest.fixture
def session(tmp_path: Path, flows: dict[str, Path]) -> Iterator[LlmSession]:
    loaded = [load(flows["answer"], ("answer_one_word.prompty",)), load(flows["sdk"]), load(flows["judge"])]
    uses = [Use(flow.name, node, connection) for flow in loaded for node, connection in flow.connections()]
    settings = LlmSettings(state_dir=tmp_path / "state", cassette_dir=tmp_path / "cassettes", provider="simulated",
                           simulated_latency_s=0.0)
    with LlmSession(settings, uses) as opened:
        yield opened


def run(session: LlmSession, flow: Flow, variant: dict[str, str], lines: list[dict[str, Any]],
        run_id: str) -> tuple[list[LineOutcome], dict[str, Any]]:
    prepared = prepare(flow.folder, flow.relative_file, variant)
    runner = prepared.runner(session.pf_connections(flow.name, run_id, run_id, prepared.connections))
    done: list[LineOutcome] = []
    run_batches([LineBatch(runner, list(enumerate(lines)), done.append)], concurrency=4)
    return sorted(done, key=lambda o: o.index), runner.aggregate(done)


def calls(tmp_path: Path) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(tmp_path / "state/llm_calls.sqlite") as db:
        return sorted(set(db.execute("select run, flow, node, connection from llm_calls").fetchall()))


def test_a_prompty_and_its_variant_run_through_the_gateway(tmp_path: Path, flows: dict[str, Path],
                                                           session: LlmSession) -> None:
    flow = load(flows["answer"], ("answer_one_word.prompty",))
    assert (flow.name, flow.variants(), flow.connections()) == (
        "answer", {"answer": ["answer", "answer_one_word"]}, [("answer", "default"), ("answer_one_word", "aoai")])
    lines = [{"question": "What is a URL?"}, {"question": "What is HTTP?", "extra column": 1}]
    default, _ = run(session, flow, {}, lines, "r-default")
    variant, _ = run(session, flow, {"answer": "answer_one_word"}, lines, "r-variant")
    for outcome in [*default, *variant]:
        assert outcome.error is None and list(outcome.outputs) == ["output"]
        assert outcome.outputs["output"].startswith("Simulated answer")
    assert default[0].outputs != variant[0].outputs  # another prompt, another answer
    session.gateway.flush()
    assert calls(tmp_path) == [("r-default", "answer", "answer", "default"),
                               ("r-variant", "answer", "answer_one_word", "aoai")]


def test_flex_flows_of_the_same_module_name_run_their_own_code(tmp_path: Path, flows: dict[str, Path],
                                                               session: LlmSession) -> None:
    sdk, judge = load(flows["sdk"]), load(flows["judge"])
    assert sdk.connections() == [("environment", "default")] and judge.connections() == [("model_config", "aoai")]
    lines = [{"question": "What is a URL?"}, {"question": "What is DNS?"}]
    by_sdk, no_metrics = run(session, sdk, {}, lines, "r-sdk")
    by_class, metrics = run(session, judge, {}, lines, "r-judge")
    assert [o.error for o in [*by_sdk, *by_class]] == [None] * 4
    assert {o.outputs["which"] for o in by_sdk} == {"sdk"} and {o.outputs["which"] for o in by_class} == {"class"}
    # The SDK's client read the gateway's key and route from the line's variables, never the process's key; a
    # flow that reaches no LLM through them does not see them at all.
    assert not any(o.outputs["saw_real_key"] for o in by_sdk) and all(o.outputs["answer"] for o in by_sdk)
    assert not any(o.outputs["key_visible"] for o in by_class)
    # sample.init gave `scale`, init.json the model configuration (replaced by the gateway's).
    assert (no_metrics, metrics) == ({}, {"lines": 2, "scale": 3})
    session.gateway.flush()
    assert calls(tmp_path) == [("r-judge", "judge", "model_config", "aoai"), ("r-sdk", "sdk", "environment", "default")]
    assert os.environ["OPENAI_API_KEY"] == REAL_KEY  # the process's own variables are untouched


def test_an_async_streaming_entry_is_joined_into_one_output(flows: dict[str, Path], session: LlmSession) -> None:
    done, _ = run(session, load(flows["stream"]), {}, [{"question": "a b c"}], "r-stream")
    assert (done[0].error, done[0].outputs) == (None, {"output": "A B C "})


def test_a_failing_line_is_an_outcome_named_like_prompt_flow_names_it(flows: dict[str, Path],
                                                                      session: LlmSession) -> None:
    done, _ = run(session, load(flows["sdk"]), {}, [{"not the input": 1}], "r-bad")
    assert (done[0].outputs, done[0].error) == (
        {}, "Execution failure in 'chat': (TypeError) chat() missing 1 required positional argument: 'question'")


def test_recorded_then_replayed_without_the_upstream(tmp_path: Path, flows: dict[str, Path]) -> None:
    loaded = [load(flows["answer"], ("answer_one_word.prompty",)), load(flows["sdk"]), load(flows["judge"])]
    uses = [Use(flow.name, node, connection) for flow in loaded for node, connection in flow.connections()]
    lines = [{"question": "What is a URL?"}, {"question": "What is DNS?"}]
    variants = [{}, {}, {"answer": "answer_one_word"}]  # the prompty's variant names connection aoai

    def outputs(settings: LlmSettings) -> list[list[dict[str, Any]]]:
        with LlmSession(settings, uses) as opened:
            found = [[o.outputs for o in run(opened, flow, variant, lines, f"r-{flow.name}")[0]]
                     for flow, variant in zip([loaded[0], loaded[1], loaded[0]], variants, strict=True)]
            found.append([o.outputs for o in run(opened, loaded[2], {}, lines, "r-judge")[0]])
        return found

    with LoopbackUpstream() as upstream:
        connections = {name: Connection(name, "openai", "stub-key-0123456789", base_url=upstream.openai_base)
                       for name in ("aoai", "default")}
        recorded = outputs(LlmSettings(state_dir=tmp_path / "state", cassette_dir=tmp_path / "cassettes",
                                       provider="openai_compatible", connections=connections, record=True,
                                       cache=False))
        calls_made = len(upstream.requests)
    replayed = outputs(LlmSettings(state_dir=tmp_path / "replay", cassette_dir=tmp_path / "cassettes",
                                   provider="replay", cache=False))
    assert calls_made == 8 and replayed == recorded
    assert all(o["answer" if "answer" in o else "output"] for run_outputs in replayed for o in run_outputs)
    assert sorted(p.name for p in (tmp_path / "cassettes").iterdir()) == ["answer.jsonl", "judge.jsonl", "sdk.jsonl"]
