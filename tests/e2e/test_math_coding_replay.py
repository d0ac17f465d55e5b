"""`llmops run` on a temp copy of math_coding with the committed recorded responses: no network, no model.
The recorded programs run in the sandbox again, so replay gives the recorded answers and the measured
accuracy. Then the original template's shape of it: a pr env whose data has no ground truth, whose
evaluation is skipped with one line saying why."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.repo_copy import REPO, copy_use_case

pytestmark = pytest.mark.timeout(300)
USE_CASE = "math_coding"


def _run_pr(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "llmops", "--root", str(root), "run", "-u", USE_CASE, "-e", "pr",
                           "--provider", "replay", *extra], env=env, capture_output=True, text=True, timeout=240)


def _rows(root: Path, name: str) -> list[dict[str, str]]:
    with (root / f"reports/{USE_CASE}/pr/latest/{name}").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_replayed_pr_run(tmp_path: Path) -> None:
    copy_use_case(tmp_path, USE_CASE)
    done = _run_pr(tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    # The accuracy per variant the use case's README gives for the embedded model on pr_data.jsonl.
    assert "gate accuracy >= 0.5 on defaults: 0.6 -> pass" in done.stdout
    assert "gate accuracy >= 0.5 on write_code.variant_1: 0.8 -> pass" in done.stdout
    rows = _rows(tmp_path, "results.csv")
    assert len(rows) == 2 * 10 and not any(r["error"] for r in rows)
    metrics = {r["variant_label"]: (r["accuracy"], r["executed_ok"]) for r in _rows(tmp_path, "metrics.csv")}
    assert metrics == {"defaults": ("0.6", "1.0"), "write_code.variant_1": ("0.8", "0.9")}
    # Replay returns what was recorded, and the sandbox runs it: every program in results.csv is in the cassette.
    cassette = (REPO / f"use_cases/{USE_CASE}/cassettes/experiment.jsonl").read_text(encoding="utf-8")
    sample = next(r for r in rows if r["variant_label"] == "defaults" and r["input.question"].startswith("A class"))
    assert sample["output.answer"] == "21" and sample["output.status"] == "ok"
    assert json.dumps(sample["output.code"].strip())[1:-1] in cassette
    # The one program that did not run: the model imported a package outside the standard library.
    [failed] = [r for r in rows if r["output.status"] != "ok"]
    assert failed["output.error"].startswith("error: ModuleNotFoundError: No module named ")


def test_pr_data_without_ground_truth_skips_the_evaluation_saying_why(tmp_path: Path) -> None:
    """As the original template's math_coding pr env: no ground truth column, no gate; the experiment runs."""
    folder = copy_use_case(tmp_path, USE_CASE)
    data = folder / "data/pr_data.jsonl"
    questions = [{"question": json.loads(line)["question"]} for line in data.read_text(encoding="utf-8").splitlines()]
    data.write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    config = folder / "llmops_config.json"
    settings = json.loads(config.read_text(encoding="utf-8"))
    for env in settings["envs"]:
        env.pop("GATES")
    config.write_text(json.dumps(settings), encoding="utf-8")
    done = _run_pr(tmp_path, "--variants", "defaults")
    assert done.returncode == 0, done.stderr[-3000:]
    skipped = [line for line in done.stdout.splitlines() if "skipped" in line]
    assert skipped == ["evaluation 'evaluation' skipped for env 'pr': dataset 'math_coding_pr' has no column "
                       "'answer' (mapped as ${data.answer}); link a test_data dataset with RELATED_EXP_DATASET to "
                       "evaluate"], done.stdout
    assert len(_rows(tmp_path, "results.csv")) == 10
