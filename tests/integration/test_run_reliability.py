"""Runs through the real CLI against a provider that fails, recovers, or is shared by two commands at once:
failed lines are retried and never reused, a provider outage shows no prompt flow traceback without
--verbose, two identical runs do the work once, and a copy of a flow elsewhere is another run."""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support.cli import Done, llmops
from tests.support.llm_use_case import ClassifyingUpstream, category, write_llm_use_case
from tests.support.mini_use_case import ROWS, edit_json, write_use_case
from tests.support.repo_copy import REPO

pytestmark = pytest.mark.timeout(300)

RUN = ("run", "-u", "mini", "-e", "pr", "--provider", "openai_compatible")
EXPERIMENT, EVALUATION = "mini_pr_defaults_mini_pr_", "mini_pr_defaults.eval_mini_pr_"  # run name prefixes


def run_line(out: str, prefix: str) -> str:
    """The line the CLI prints for the run whose name starts with `prefix`."""
    return next(line for line in out.splitlines() if line.startswith(prefix))


def run_states(root: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(root / ".llmops/registry.sqlite") as conn:
        return conn.execute("SELECT kind, status, lines_failed FROM runs ORDER BY kind").fetchall()


def failed_urls(root: Path) -> list[str]:
    """The urls of the lines that failed, each for the provider's 429 (after the gateway's retries)."""
    with (root / "reports/mini/pr/latest/results.csv").open() as handle:
        failed = [row for row in csv.DictReader(handle) if row["error"]]
    assert all("HTTP 429" in row["error"] for row in failed)
    return sorted(row["input.url"] for row in failed)


@pytest.mark.parametrize(("healthy_calls", "failed_first"), [(0, 4), (2, 2)],
                         ids=["outage from the start", "outage after two calls"])
def test_failed_lines_run_again_once_the_provider_recovers(tmp_path: Path, healthy_calls: int,
                                                           failed_first: int) -> None:
    with ClassifyingUpstream(healthy_calls) as upstream:
        write_llm_use_case(tmp_path, upstream)
        # In its own process: the test also checks what reaches the terminal, where prompt flow's own loggers write.
        first = Done(*Command(tmp_path, *RUN).wait())
        assert first.code == 1, first.err
        assert f"4 lines, {failed_first} failed (ran 4 lines)" in first.out
        # Prompt flow's node tracebacks stay off the terminal without --verbose; each line keeps its cause.
        assert "Traceback" not in first.err and "Traceback" not in first.out
        # The cause is printed once, grouped, with its fix; per-call noise stays off the terminal.
        assert "fix: the provider is rate-limiting" in first.out
        assert "Exception occurs" not in first.err  # promptflow-tools prints it on every failed call
        assert sum("retrying with backoff" in line for line in first.err.splitlines()) == 1, first.err
        retried = failed_urls(tmp_path)
        assert len(retried) == failed_first
        # Not final: the run record says the run has lines left to retry.
        assert run_states(tmp_path) == [("evaluation", "incomplete", failed_first),
                                        ("experiment", "incomplete", failed_first)]

        upstream.down = False
        calls_before = len(upstream.requests)
        second = llmops(tmp_path, *RUN)
        assert second.code == 0, second.err
        said = f": {4 - failed_first} of 4 lines done, retrying {failed_first} failed"
        retrying = [line.split()[1].rsplit("_", 1)[0] + "_" for line in second.err.splitlines() if said in line]
        assert sorted(retrying) == sorted([EXPERIMENT, EVALUATION])
        # Only the lines that failed called the provider again, once each.
        assert sorted(upstream.urls_asked(calls_before)) == retried
        assert f"4 lines, 0 failed (ran {failed_first} lines)" in run_line(second.out, EXPERIMENT)
        # The evaluation lines skipped for a failed experiment line ran now; the metric is over all 4 lines.
        expected = sum(category(r["url"]) == r["answer"] for r in ROWS) / len(ROWS)
        assert f"4 lines, 0 failed (ran {failed_first} lines); accuracy={expected:.3f}" in run_line(
            second.out, EVALUATION)
        assert run_states(tmp_path) == [("evaluation", "completed", 0), ("experiment", "completed", 0)]

        calls_before = len(upstream.requests)
        third = llmops(tmp_path, *RUN)
        assert third.code == 0, third.err
        assert third.out.count("(reused)") == 2 and len(upstream.requests) == calls_before


class Command:
    """A CLI command running in the background; its stderr is read as it comes."""

    def __init__(self, root: Path, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen([sys.executable, "-m", "llmops", "--root", str(root), *args], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.err: list[str] = []
        self._reader = threading.Thread(target=lambda: self.err.extend(self.proc.stderr or []), daemon=True)
        self._reader.start()

    def said(self, text: str) -> bool:
        return any(text in line for line in list(self.err))

    def wait(self) -> tuple[int, str, str]:
        out = self.proc.stdout.read() if self.proc.stdout else ""
        code = self.proc.wait(timeout=240)
        self._reader.join(timeout=30)
        return code, out, "".join(self.err)


def test_the_same_run_started_twice_at_once_runs_once(tmp_path: Path) -> None:
    """Two commands at once on a fresh state directory: both succeed, the second waits and reuses the first's lines.

    Two processes, as two CI jobs or two terminals would run them: the lock they share is between processes."""
    rows = [{"url": f"https://apps.example.com/{i}", "answer": "App"} for i in range(8)]
    with ClassifyingUpstream(down=False) as upstream:
        write_llm_use_case(tmp_path, upstream, rows)
        # The provider answers nothing until one command waits for the other (or both called it: the
        # defect), so the two overlap however long each takes to start.
        upstream.gate.clear()
        commands = [Command(tmp_path, *RUN) for _ in range(2)]
        waiting = "is running in another process"
        while not any(c.said(waiting) for c in commands) and upstream.arrived <= len(rows):
            if any(c.proc.poll() is not None for c in commands):
                break
            time.sleep(0.05)
        upstream.gate.set()
        results = [c.wait() for c in commands]
    assert [code for code, _, _ in results] == [0, 0], [err[-2000:] for _, _, err in results]
    assert not any("FileNotFoundError" in err for _, _, err in results)
    assert len(upstream.requests) == len(rows)  # one run's calls, not two
    said = [line for _, _, err in results for line in err.splitlines() if waiting in line]
    assert sum(line.startswith(f"run {EXPERIMENT}") for line in said) == 1
    assert sorted("(reused)" in run_line(out, EXPERIMENT) for _, out, _ in results) == [False, True]


def test_a_copy_of_the_flow_elsewhere_is_not_reused(tmp_path: Path) -> None:
    """The run key holds the flow's path: a byte-identical copy is another flow (its own cassette and tags)."""
    folder = write_use_case(tmp_path)
    shutil.copytree(folder / "flows/standard", folder / "flows/standard_copy")
    config = folder / "llmops_config.json"
    experiment = ("experiment", "-u", "mini", "-e", "pr", "--variants", "defaults")
    assert llmops(tmp_path, "register-data", "-u", "mini", "-e", "pr").code == 0
    edit_json(config, lambda d: d["envs"][0].__setitem__("STANDARD_FLOW_PATH", "flows/standard_copy"))
    copied = llmops(tmp_path, *experiment)
    assert copied.code == 0, copied.err
    edit_json(config, lambda d: d["envs"][0].__setitem__("STANDARD_FLOW_PATH", "flows/standard"))
    original = llmops(tmp_path, *experiment)
    assert original.code == 0, original.err
    assert "(reused)" not in original.out and "4 lines, 0 failed (ran 4 lines)" in original.out
