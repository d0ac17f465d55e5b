"""Judges of a canary's answer against the live deployment's answer to the same request: +1, -1 or 0 (a tie).

- post_prod_flow: the use case's post-production evaluation flow scores each answer alone (its mapping reads the
  request's inputs and the answer's outputs, as it reads a production log row); the outcome is the sign of the
  canary's score minus the live one's. With 0/1 scores, delta is the difference of the two accuracies.
- pairwise: an LLM judge prompt, through the gateway like every LLM call, sees the request and both answers as
  "A" and "B" and says which is better or TIE. Which answer is A is drawn per request (seeded by the request id,
  so a rerun asks the same prompt and hits the cache): a judge that prefers the first answer then adds noise,
  never a bias towards either deployment.
Both run as one batch per poll through the backend's executor (its runs are content-addressed like any other).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.backends.protocols import Backend, FlowSession
from llmops.backends.types import RunSpec
from llmops.config.flow_base import Flow
from llmops.config.mapping_config import map_inputs
from llmops.config.problems import Problem
from llmops.errors import LlmopsError
from llmops.serving.canary_pairs import AnswerPair

POST_PROD_FLOW, PAIRWISE = "post_prod_flow", "pairwise"
KIND = "canary_judge"

PAIRWISE_PROMPTY = """\
---
name: Canary pairwise judge
description: Which of two answers to the same request is better (llmops endpoint watch).
model:
  api: chat
  configuration:
    type: azure_openai
    azure_deployment: gpt-4o
    connection: {connection}
  parameters:
    temperature: 0
    max_tokens: 3
inputs:
  request:
    type: string
  answer_a:
    type: string
  answer_b:
    type: string
---
system:
You compare two answers to the same request. Reply with exactly one word: A if answer A is better, B if answer B
is better, TIE if they are equally good or equally bad.

user:
Request: {{{{request}}}}

Answer A: {{{{answer_a}}}}

Answer B: {{{{answer_b}}}}

Which answer is better? Reply A, B or TIE.
"""


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _sign(value: float) -> float:
    return 1.0 if value > 0 else -1.0 if value < 0 else 0.0


@dataclass
class JudgeContext:
    """What a judge runs with: the backend's executor, the command's LLM session, the use case and env."""

    backend: Backend
    session: FlowSession
    use_case: str
    env: str
    endpoint: str
    flow_path: str  # the flow as the repository shows it (Workspace.shown)


def _run(context: JudgeContext, flow: Flow, mapping: dict[str, str], rows: list[dict[str, Any]],
         answers: list[dict[str, Any]] | None = None) -> list[Any]:
    """Run `flow` over `rows` as one content-addressed run; each line's outputs, None where the line failed.
    `answers` (one per row) are what `${run.outputs.<name>}` reads, so an evaluation flow mapped for experiment runs
    (a prediction against the request's ground truth, when the traffic carries it) judges answers too."""
    digest = hashlib.sha256("".join(_text(r) + "\n" for r in rows).encode()).hexdigest()
    spec = RunSpec(use_case=context.use_case, env=context.env, kind=KIND, flow=flow, flow_path=context.flow_path,
                   variant=flow.default_variants(), variant_label=KIND, dataset=f"{context.endpoint}_canary",
                   dataset_version=0, data_sha256=digest, mapping=mapping,
                   rows=[(i, map_inputs(mapping, row, answers[i] if answers else None)) for i, row in enumerate(rows)])
    result = context.backend.executor.execute([spec], context.session, 4)[0]
    by_index = {line.index: line for line in result.lines}
    return [by_index[i].outputs if i in by_index and by_index[i].error is None else None for i in range(len(rows))]


@dataclass
class FlowJudge:
    """The post-production evaluation flow scoring each answer; `metric` is the output compared."""

    context: JudgeContext
    flow: Flow
    mapping: dict[str, str]
    metric: str = ""
    name: str = POST_PROD_FLOW

    def _score(self, outputs: Any) -> float | None:
        if not isinstance(outputs, dict):
            return None
        names = [self.metric] if self.metric else [k for k, v in outputs.items()
                                                   if isinstance(v, int | float) and not isinstance(v, bool)]
        if self.metric and self.metric not in outputs:
            raise LlmopsError(f"CANARY.METRIC '{self.metric}' is not an output of the post-production flow "
                              f"'{self.flow.name}'; its outputs: {', '.join(sorted(outputs)) or '(none)'}")
        value = outputs.get(names[0]) if names else None
        return float(value) if isinstance(value, int | float) else None

    def judge(self, pairs: Sequence[AnswerPair]) -> list[float | None]:
        answers = [a for p in pairs for a in (p.canary_outputs, p.live_outputs)]
        rows = [row for p in pairs for row in ({**p.inputs, **p.canary_outputs}, {**p.inputs, **p.live_outputs})]
        outputs = _run(self.context, self.flow, self.mapping, rows, answers)
        outcomes: list[float | None] = []
        for i in range(len(pairs)):
            canary, live = self._score(outputs[2 * i]), self._score(outputs[2 * i + 1])
            outcomes.append(None if canary is None or live is None else _sign(canary - live))
        return outcomes


def canary_first(request_id: str) -> bool:
    """Whether the canary's answer is shown as A: a fair coin per request, the same on every rerun."""
    return random.Random(hashlib.sha256(request_id.encode()).digest()).random() < 0.5


def parse_verdict(text: Any) -> str | None:
    """'A', 'B' or 'TIE' from the judge's reply; None when it says none of them."""
    words = str(text or "").strip().upper().replace(".", " ").split()
    first = words[0] if words else ""
    return first if first in ("A", "B", "TIE") else None


@dataclass
class PairwiseJudge:
    context: JudgeContext
    flow: Flow  # the judge prompty (pairwise_flow)
    name: str = PAIRWISE

    def judge(self, pairs: Sequence[AnswerPair]) -> list[float | None]:
        rows, order = [], []
        for p in pairs:
            first = canary_first(p.request_id)
            a, b = (p.canary_outputs, p.live_outputs) if first else (p.live_outputs, p.canary_outputs)
            rows.append({"request": _text(p.inputs), "answer_a": _text(a), "answer_b": _text(b)})
            order.append(first)
        mapping = {name: f"${{data.{name}}}" for name in ("request", "answer_a", "answer_b")}
        outcomes: list[float | None] = []
        for outputs, first in zip(_run(self.context, self.flow, mapping, rows), order, strict=True):
            verdict = parse_verdict(outputs.get("output") if isinstance(outputs, dict) else None)
            if verdict is None:
                outcomes.append(None)
            elif verdict == "TIE":
                outcomes.append(0.0)
            else:
                outcomes.append(1.0 if (verdict == "A") == first else -1.0)
        return outcomes


def pairwise_flow(folder: Path, connection: str, root: Path | None) -> Flow:
    """The pairwise judge as a prompty flow calling through `connection`, written under `folder` (the state
    directory) so that prompt flow runs it like a use case's prompty."""
    from llmops.config.flow_prompty import load_prompty

    file = folder / connection / "canary_pairwise_judge.prompty"
    file.parent.mkdir(parents=True, exist_ok=True)
    text = PAIRWISE_PROMPTY.format(connection=connection)
    if not file.is_file() or file.read_text(encoding="utf-8") != text:
        file.write_text(text, encoding="utf-8")
    problems: list[Problem] = []
    flow = load_prompty(file, root, problems)
    if flow is None or problems:
        raise LlmopsError("the canary's pairwise judge prompt could not be loaded: "
                          + "; ".join(str(p) for p in problems))
    return flow
