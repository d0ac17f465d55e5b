"""The line as the endpoint server runs it (FlowRunner records=False: no run records) answers as a run's line does."""

from __future__ import annotations

import asyncio
from pathlib import Path

from llmops.backends.local.engine.flow_runner import FlowRunner
from llmops.backends.local.engine.node_pool import NodePool
from llmops.backends.types import LineOutcome
from tests.support.quiet_prompt_flow import quiet_prompt_flow

DAG = """\
inputs:
  text:
    type: string
outputs:
  picture:
    type: image
    reference: ${draw.output}
  words:
    type: object
    reference: ${count.output}
nodes:
- name: draw
  type: python
  source: {type: code, path: draw.py}
  inputs: {text: "${inputs.text}"}
- name: count
  type: python
  source: {type: code, path: count.py}
  inputs: {text: "${inputs.text}"}
"""

DRAW_PY = """\
from promptflow.contracts.multimedia import Image
from promptflow.core import tool


@tool
def draw(text: str) -> Image:
    return Image(text.encode(), mime_type="image/png")
"""

COUNT_PY = """\
from promptflow.core import tool


@tool
def count(text: str) -> dict:
    if text == "fail":
        raise ValueError("no words to count")
    return {"words": text.split(), "nested": [{"n": len(text)}]}
"""

INPUTS = [{"text": "one two"}, {"text": "fail"}, {"text": "three"}]


def _outcomes(folder: Path, records: bool) -> list[LineOutcome]:
    runner = FlowRunner(folder, "flow.dag.yaml", {}, records=records)
    runner.load()
    pool = NodePool(4)
    runner.use_node_pool(pool)

    async def run() -> list[LineOutcome]:
        return list(await asyncio.gather(*(runner.run_line_async(i, inputs) for i, inputs in enumerate(INPUTS))))

    try:
        return asyncio.run(run())
    finally:
        pool.shutdown()


def test_a_line_without_run_records_has_the_same_outcome(tmp_path: Path) -> None:
    (tmp_path / "flow.dag.yaml").write_text(DAG)
    (tmp_path / "draw.py").write_text(DRAW_PY)
    (tmp_path / "count.py").write_text(COUNT_PY)
    home = tmp_path / "pf_home"
    home.mkdir()
    with quiet_prompt_flow(home):
        recorded, unrecorded = _outcomes(tmp_path, True), _outcomes(tmp_path, False)
    assert [(o.index, o.inputs, o.outputs, o.error) for o in unrecorded] == \
        [(o.index, o.inputs, o.outputs, o.error) for o in recorded]
    assert unrecorded[0].outputs["words"] == {"words": ["one", "two"], "nested": [{"n": 7}]}
    assert unrecorded[0].outputs["picture"].startswith("Image(")  # what an answer's JSON gets of an image
    assert "no words to count" in str(unrecorded[1].error) and unrecorded[1].outputs == {}
    assert sorted(p.name for p in tmp_path.iterdir() if p.name not in ("__pycache__", "pf_home")) == [
        "count.py", "draw.py", "flow.dag.yaml"]  # neither way writes files beside the flow
