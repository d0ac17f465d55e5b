"""What a flow's nodes print stays off the terminal unless --verbose: promptflow-tools prints
`Exception occurs: ...` on every failed LLM call, and prompt flow's own capture of node output leaks
it through when several runs execute at once."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from llmops.backends.local.engine.flow_runner import FlowRunner, LineBatch, run_batches
from tests.support.cli import llmops_process
from tests.support.mini_use_case import CLASSIFY_PY, write_use_case

pytestmark = pytest.mark.timeout(300)

NOISY_CLASSIFY_PY = CLASSIFY_PY.replace(
    "    word = ", "    import sys, time\n    time.sleep(0.05)  # lines overlap, as lines waiting for an LLM do\n"
    "    print('node stdout says hi')\n    print('node stderr says hi', file=sys.stderr)\n    word = ")


ECHO_DAG = """\
inputs:
  n:
    type: int
outputs:
  n:
    type: int
    reference: ${echo.output}
nodes:
- name: echo
  type: python
  source: {type: code, path: echo.py}
  inputs: {n: "${inputs.n}"}
"""
ECHO_PY = """\
import sys

from promptflow.core import tool


@tool
def echo(n: int) -> int:
    print(f"line {n} says hi")
    print(f"line {n} warns", file=sys.stderr)
    return n
"""


# A process of its own: the test is about what reaches the real terminal, which nodes write to directly.
@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_node_output_reaches_the_terminal_only_with_verbose(tmp_path: Path, verbose: bool) -> None:
    folder = write_use_case(tmp_path)
    (folder / "flows/standard/classify.py").write_text(NOISY_CLASSIFY_PY, encoding="utf-8")
    assert llmops_process(tmp_path, "register-data", "-u", "mini", "-e", "dev").code == 0
    # Two variants over 12 lines: two executors running lines at once, as in a real experiment.
    done = llmops_process(tmp_path, *(["-v"] if verbose else []), "experiment", "-u", "mini", "-e", "dev")
    assert done.code == 0, done.err
    printed = done.out + done.err
    if verbose:
        assert "node stderr> node stderr says hi" in done.err and "node stdout> node stdout says hi" in done.err
    else:
        assert "says hi" not in printed, printed


@pytest.mark.parametrize("concurrency", [1, 4])
def test_each_print_reaches_the_debug_log_once(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                               concurrency: int) -> None:
    # One line at a time, prompt flow's own writer is sys.stdout whenever a node prints, so it captures every
    # print; with lines overlapping, some prints pass it by. Either way each one is logged once.
    (tmp_path / "flow.dag.yaml").write_text(ECHO_DAG)
    (tmp_path / "echo.py").write_text(ECHO_PY)
    caplog.set_level(logging.DEBUG, logger="llmops.flow_output")

    run_batches([LineBatch(FlowRunner(tmp_path, "flow.dag.yaml", {}), [(i, {"n": i}) for i in range(8)])],
                concurrency)

    # Prompt flow's own execution logs pass through the same route; only the prints are counted.
    logged = sorted(m for r in caplog.records if r.name == "llmops.flow_output"
                    and re.fullmatch(r"node std(out|err)> line \d+ (says hi|warns)", m := r.getMessage()))
    expected = sorted([f"node stdout> line {n} says hi" for n in range(8)] + [f"node stderr> line {n} warns"
                                                                             for n in range(8)])
    assert logged == expected
