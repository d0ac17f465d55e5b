"""The line runner on real prompt flow executors: several runs share one concurrency budget and one node pool."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops.backends.local.engine.flow_runner import FlowRunner, LineBatch, run_batches
from llmops.backends.types import LineOutcome

DAG = """\
inputs:
  n:
    type: int
outputs:
  report:
    type: object
    reference: ${work.output}
nodes:
- name: work
  type: python
  source: {type: code, path: work.py}
  inputs: {n: "${inputs.n}", tag: TAG}
"""

WORK_PY = """\
import threading
import time

from promptflow.core import tool


@tool
def work(n: int, tag: str) -> dict:
    started = time.monotonic()
    time.sleep(0.05)
    return {"n": n, "tag": tag, "thread": threading.current_thread().name,
            "started": started, "ended": time.monotonic()}
"""


def _runner(tmp_path: Path, tag: str) -> FlowRunner:
    folder = tmp_path / tag
    folder.mkdir()
    (folder / "flow.dag.yaml").write_text(DAG.replace("TAG", tag))
    (folder / "work.py").write_text(WORK_PY)
    return FlowRunner(folder, "flow.dag.yaml", {})


def _peak_overlap(reports: list[dict]) -> int:
    events = sorted([(r["started"], 1) for r in reports] + [(r["ended"], -1) for r in reports])
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


def test_runs_share_the_concurrency_budget_and_the_node_pool(tmp_path: Path) -> None:
    outcomes: dict[str, list[LineOutcome]] = {"first": [], "second": []}
    batches = [LineBatch(_runner(tmp_path, tag), [(i, {"n": i}) for i in range(6)], outcomes[tag].append)
               for tag in ("first", "second")]

    run_batches(batches, concurrency=4)

    for tag, done in outcomes.items():
        assert sorted(o.index for o in done) == list(range(6))
        assert all(o.error is None and o.outputs["report"]["tag"] == tag for o in done), done
    reports = [o.outputs["report"] for done in outcomes.values() for o in done]
    assert _peak_overlap(reports) == 4
    # No slot idles between runs: 6 lines fill 4 slots then 2, and the second run takes the other 2.
    first_end = max(r["ended"] for r in reports if r["tag"] == "first")
    assert min(r["started"] for r in reports if r["tag"] == "second") < first_end
    # One shared pool, not a new pool per line: at most `concurrency` node threads, all of them ours.
    threads = {r["thread"] for r in reports}
    assert len(threads) <= 4 and all(t.startswith("llmops-node") for t in threads), threads


def test_a_flow_that_cannot_load_fails_before_any_line_runs(tmp_path: Path) -> None:
    good = _runner(tmp_path, "good")
    broken = _runner(tmp_path, "broken")
    (broken.working_dir / "work.py").unlink()
    finished: list[LineOutcome] = []

    with pytest.raises(Exception, match="work.py"):
        run_batches([LineBatch(good, [(0, {"n": 0})], finished.append),
                     LineBatch(broken, [(0, {"n": 0})], finished.append)], concurrency=2)
    assert finished == []


def test_a_failing_line_is_recorded_and_the_others_continue(tmp_path: Path) -> None:
    finished: list[LineOutcome] = []
    run_batches([LineBatch(_runner(tmp_path, "mixed"), [(0, {"n": 1}), (1, {"n": "not a number"}), (2, {"n": 3})],
                           finished.append)], concurrency=2)
    outcomes = sorted(finished, key=lambda o: o.index)

    assert [o.index for o in outcomes] == [0, 1, 2]
    assert outcomes[0].error is None and outcomes[2].error is None
    assert outcomes[1].error and outcomes[1].outputs == {}


def test_the_line_loop_serves_many_calling_threads_on_one_node_pool(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from llmops.backends.local.engine.line_loop import LineLoop

    runner = _runner(tmp_path, "served")
    lines = LineLoop(callers=4)
    try:
        with ThreadPoolExecutor(4) as callers:
            outcomes = list(callers.map(lambda n: lines.run_line(runner, n, {"n": n}), range(12)))
        failed = lines.run_line(runner, 99, {"n": "not a number"})
    finally:
        lines.close()

    assert [o.outputs["report"]["n"] for o in outcomes] == list(range(12))
    reports = [o.outputs["report"] for o in outcomes]
    assert _peak_overlap(reports) == 4  # the callers' lines ran at the same time, not one after another
    assert all(r["thread"].startswith("llmops-node") for r in reports)
    assert failed.error and failed.index == 99
