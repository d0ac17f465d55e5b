"""Cancelled lines on the pooled node scheduler, as upstream's scheduler handles them: a cancelled line cancels
its node tasks (one not started never starts), and a node still running holds neither the process nor its exit,
after a second Ctrl-C or a line timeout (PF_LINE_TIMEOUT_SEC)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llmops.backends.local.engine.flow_runner import FlowRunner
from llmops.backends.local.engine.node_pool import NodePool
from llmops.backends.local.engine.promptflow_env import configure_promptflow
from llmops.backends.types import LineOutcome
from tests.support.ctrl_c import takes_ctrl_c
from tests.support.mini_use_case import edit_json, write_use_case

pytestmark = pytest.mark.timeout(300)
REPO = Path(__file__).resolve().parents[2]

DAG = """\
inputs:
  folder:
    type: string
outputs:
  a:
    type: string
    reference: ${a.output}
  b:
    type: string
    reference: ${b.output}
nodes:
- name: a
  type: python
  source: {type: code, path: hold.py}
  inputs: {name: a, folder: "${inputs.folder}"}
- name: b
  type: python
  source: {type: code, path: hold.py}
  inputs: {name: b, folder: "${inputs.folder}"}
"""

HOLD_PY = """\
import time
from pathlib import Path

from promptflow.core import tool


@tool
def hold(name: str, folder: str) -> str:
    folder = Path(folder)
    (folder / f"started_{name}").touch()
    deadline = time.monotonic() + 60
    while not (folder / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    (folder / f"ended_{name}").touch()
    return name
"""


def test_a_cancelled_line_cancels_its_node_tasks_not_started(tmp_path: Path) -> None:
    flow, marks = tmp_path / "flow", tmp_path / "marks"
    flow.mkdir()
    marks.mkdir()
    (flow / "flow.dag.yaml").write_text(DAG)
    (flow / "hold.py").write_text(HOLD_PY)
    configure_promptflow(tmp_path / "state")
    runner = FlowRunner(flow, "flow.dag.yaml", {})
    pool = NodePool(1)  # one thread: the line's second node waits in the pool behind its first

    async def cancel_the_line() -> LineOutcome:
        runner.use_node_pool(pool)
        line = asyncio.create_task(runner.run_line_async(0, {"folder": str(marks)}))
        while not list(marks.glob("started_*")):
            await asyncio.sleep(0.01)
        line.cancel()
        outcome = await line
        # The loop goes on (asyncio.run would cancel every task left at its end, whoever made them).
        (marks / "release").touch()
        await asyncio.get_running_loop().run_in_executor(pool, lambda: None)  # first in, first out: after a queued node
        return outcome

    try:
        outcome = asyncio.run(cancel_the_line())
    finally:
        pool.shutdown()

    assert outcome.error and outcome.outputs == {}
    started = sorted(p.name for p in marks.glob("started_*"))
    assert len(started) == 1, started  # the node not started never started
    assert sorted(p.name for p in marks.glob("ended_*")) == [started[0].replace("started", "ended")]


SLOW_LINE = """\
    if url.endswith("/b"):
        open(MARK, "w").close()
        import time
        time.sleep(600)
"""


def _slow_use_case(tmp_path: Path) -> tuple[Path, Path]:
    """The mini use case whose line /b sleeps 600 s (after touching a mark), the others done at once."""
    repo, mark = tmp_path / "repo", tmp_path / "sleeping"
    write_use_case(repo)
    classify = repo / "use_cases/mini/flows/standard/classify.py"
    slow = SLOW_LINE.replace("MARK", repr(str(mark)))
    classify.write_text(classify.read_text().replace('    word = "App"', slow + '    word = "App"'))
    edit_json(repo / "use_cases/mini/llmops_config.json", lambda d: d["envs"][0].__setitem__("CONCURRENCY", 4))
    return repo, mark


def _experiment(repo: Path, **env: str) -> subprocess.Popen[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **env}
    cmd = [sys.executable, "-m", "llmops", "--root", str(repo)]
    subprocess.run([*cmd, "register-data", "-u", "mini", "-e", "pr"], check=True, env=full_env, capture_output=True)
    return subprocess.Popen([*cmd, "experiment", "-u", "mini", "-e", "pr", "--variants", "defaults"], env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=takes_ctrl_c)


def test_a_second_ctrl_c_ends_the_run_while_a_node_still_sleeps(tmp_path: Path) -> None:
    repo, mark = _slow_use_case(tmp_path)
    proc = _experiment(repo)
    assert proc.stderr is not None
    while not mark.exists():
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    for line in proc.stderr:  # the first Ctrl-C lets the lines in flight finish; the second stops now
        if "Ctrl-C again to stop now" in line:
            break
    proc.send_signal(signal.SIGINT)
    # Before, the process waited for the node's thread at exit: 600 s.
    _, err = proc.communicate(timeout=60)

    assert proc.returncode == 130, err
    assert "interrupted; finished work is kept, run the command again to resume" in err


def test_a_line_timeout_fails_the_line_and_the_process_does_not_wait_for_its_node(tmp_path: Path) -> None:
    repo, _ = _slow_use_case(tmp_path)
    proc = _experiment(repo, PF_LINE_TIMEOUT_SEC="2")
    out, err = proc.communicate(timeout=120)  # before: the node's thread held the ended run's process 600 s

    assert proc.returncode == 1, err
    assert "4 lines, 1 failed" in out
    assert "1 line: Line N execution timeout for exceeding N seconds" in out
