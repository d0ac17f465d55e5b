"""Replay miss -> `llmops record` -> replay, on a temp copy of web_classification whose prompt changed:
`record` asks the provider only for the requests the cassettes lack and keeps every recorded answer, and the
third command passes without deleting anything, running again only the lines that missed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.support.cli import llmops
from tests.support.llm_use_case import write_connection
from tests.support.loopback_upstream import LoopbackUpstream
from tests.support.repo_copy import copy_use_case

pytestmark = pytest.mark.timeout(300)

CHANGED = "summarize_text_content.variant_1"  # the variant whose prompt changes: its calls are not recorded
UNCHANGED = ("defaults", "classify_with_llm.variant_1")
LINES = 10
CALLS_PER_LINE = 2  # summarize, then classify


def run_line(out: str, label: str) -> str:
    """The line `llmops run` prints for the experiment run of variant `label`."""
    return next(line for line in out.splitlines() if line.startswith(f"web_classification_pr_{label}_web_"))


def calls_so_far(root: Path) -> int:
    with sqlite3.connect(root / ".llmops/llm_calls.sqlite") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM llm_calls").fetchone()[0])


def test_replay_misses_then_record_then_replay_passes(tmp_path: Path) -> None:
    folder = copy_use_case(tmp_path)
    prompt = folder / "flows/experiment/summarize_text_content__variant_1.jinja2"
    prompt.write_text(prompt.read_text().replace("In under 15 words", "In under 12 words"))
    replay = ("run", "-u", "web_classification", "-e", "pr", "--provider", "replay")
    offline = {"LLMOPS_OFFLINE": "1"}

    missed = llmops(tmp_path, *replay, env=offline)
    assert missed.code == 1, missed.err[-3000:]
    assert f"{LINES} lines, {LINES} failed" in run_line(missed.out, CHANGED)
    assert all(f"{LINES} lines, 0 failed" in run_line(missed.out, label) for label in UNCHANGED)

    cassette = folder / "cassettes/experiment.jsonl"
    kept = set(cassette.read_text().splitlines())
    with LoopbackUpstream() as upstream:
        write_connection(tmp_path, upstream)
        # The command the replay miss names, as it names it: every variant runs, only the missing calls go out.
        recorded = llmops(tmp_path, "record", "-u", "web_classification", "-e", "pr", "--provider",
                          "openai_compatible", env=offline)
    assert recorded.code in (0, 3), recorded.err[-3000:]  # a gate may judge the stub's answers: not the point
    assert f"{LINES} lines, 0 failed" in run_line(recorded.out, CHANGED)
    assert len(upstream.requests) == LINES * CALLS_PER_LINE
    assert kept < set(cassette.read_text().splitlines())  # what was recorded stays as it was

    before = calls_so_far(tmp_path)
    passed = llmops(tmp_path, *replay, env=offline)
    assert passed.code == 0, passed.err[-3000:]
    assert f"{LINES} lines, 0 failed (ran {LINES} lines)" in run_line(passed.out, CHANGED)
    assert all(f"{LINES} lines, 0 failed (reused)" in run_line(passed.out, label) for label in UNCHANGED)
    assert f": 0 of {LINES} lines done, retrying {LINES} failed" in passed.err
    assert calls_so_far(tmp_path) - before == LINES * CALLS_PER_LINE  # only the lines that missed called again
