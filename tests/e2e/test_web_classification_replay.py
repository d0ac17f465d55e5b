"""`llmops run` on a temp copy of web_classification with the committed recorded responses: no network,
no model. Every report file is there with the right row counts, and replay gives the recorded outputs."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import llmops
from tests.support.repo_copy import REPO, copy_use_case

pytestmark = pytest.mark.timeout(300)


def test_replayed_pr_run(tmp_path: Path) -> None:
    copy_use_case(tmp_path)
    done = llmops(tmp_path, "run", "-u", "web_classification", "-e", "pr", "--provider", "replay",
                  env={"LLMOPS_OFFLINE": "1"})
    assert done.code == 0, done.err[-3000:]
    assert "gate accuracy >= 0.6 on defaults: 1.0 -> pass" in done.out
    latest = tmp_path / "reports/web_classification/pr/latest"
    with (latest / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 * 10 and not any(r["error"] for r in rows)
    with (latest / "metrics.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 3 * 2  # 3 variant runs x 2 evaluation flows
    assert len((latest / "summary.md").read_text().splitlines()) <= 60
    assert json.loads((latest / "summary.json").read_text())
    assert (latest / "report.html").stat().st_size > 1000
    # Replay returns what was recorded: every category in results.csv is an answer in the cassette.
    cassette = (REPO / "use_cases/web_classification/cassettes/experiment.jsonl").read_text()
    sample = next(r for r in rows if r["variant_label"] == "defaults" and "twitter" in r["input.url"])
    assert sample["output.category"] == "App" and sample["output.evidence"] in cassette

    # The Python API example (local_execution/) runs the same pipeline: every run is reused, the gates pass.
    example = REPO / "local_execution" / "web_classification_local_experiment.py"
    env = {**os.environ, "PYTHONPATH": str(REPO), "LLMOPS_OFFLINE": "1"}  # a script: its own process
    api = subprocess.run([sys.executable, str(example), "--root", str(tmp_path), "--provider", "replay"], env=env,
                         capture_output=True, text=True, timeout=240)
    assert api.returncode == 0, api.stderr[-3000:]
    assert "defaults: 10 lines, 0 failed" in api.stdout
    assert "gate accuracy on defaults: 1.0 (pass)" in api.stdout and "report: " in api.stdout
