"""What a flow's nodes print stays off the terminal unless --verbose: promptflow-tools prints
`Exception occurs: ...` on every failed LLM call, and prompt flow's own capture of node output leaks
it through when several runs execute at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.mini_use_case import CLASSIFY_PY, write_use_case

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parents[2]
NOISY_CLASSIFY_PY = CLASSIFY_PY.replace(
    "    word = ", "    import sys, time\n    time.sleep(0.05)  # lines overlap, as lines waiting for an LLM do\n"
    "    print('node stdout says hi')\n    print('node stderr says hi', file=sys.stderr)\n    word = ")


def llmops_process(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A process of its own: the test is about what reaches the real terminal, which nodes write to directly.
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "llmops", "--root", str(root), *args], env=env,
                          capture_output=True, text=True, timeout=240)


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_node_output_reaches_the_terminal_only_with_verbose(tmp_path: Path, verbose: bool) -> None:
    folder = write_use_case(tmp_path)
    (folder / "flows/standard/classify.py").write_text(NOISY_CLASSIFY_PY, encoding="utf-8")
    assert llmops_process(tmp_path, "register-data", "-u", "mini", "-e", "dev").returncode == 0
    # Two variants over 12 lines: two executors running lines at once, as in a real experiment.
    done = llmops_process(tmp_path, *(["-v"] if verbose else []), "experiment", "-u", "mini", "-e", "dev")
    assert done.returncode == 0, done.stderr
    printed = done.stdout + done.stderr
    if verbose:
        assert "node stderr> node stderr says hi" in done.stderr and "node stdout> node stdout says hi" in done.stderr
    else:
        assert "says hi" not in printed, printed
