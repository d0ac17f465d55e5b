"""named_entity_recognition end to end on a temp copy with the committed recorded responses (no network, no
model): the PR pipeline over both prompt variants with its gate, and the post-production judge over the
production log sample two ways: as the `postprodeval` env's standard flow (the original template's shape) and
as `post-prod-eval` of env `dev`, which replays the same recorded judgements."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.repo_copy import REPO, copy_use_case

pytestmark = pytest.mark.timeout(300)
NAME = "named_entity_recognition"


def llmops(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "llmops", "--root", str(root), *args, "--provider", "replay"],
                          env=env, capture_output=True, text=True, timeout=240)


def runs_table(out: str) -> list[str]:
    """The run lines of the output, the content hash of each run name taken out."""
    return [re.sub(r"_[0-9a-f]{6}:", ":", line) for line in out.splitlines() if " lines, " in line]


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_replayed_pr_run_scores_both_variants_and_passes_its_gate(tmp_path: Path) -> None:
    copy_use_case(tmp_path, NAME)
    done = llmops(tmp_path, "run", "-u", NAME, "-e", "pr")
    assert done.returncode == 0, done.stderr[-3000:]
    # The figures the use case's README gives for the embedded model: replay returns its recorded answers.
    assert [line.split("; ")[0] for line in runs_table(done.stdout)] == [
        f"{NAME}_pr_defaults_{NAME}_pr: 10 lines, 0 failed (ran 10 lines)",
        f"{NAME}_pr_extract_entities.variant_1_{NAME}_pr: 10 lines, 0 failed (ran 10 lines)",
        f"{NAME}_pr_defaults.evaluation_{NAME}_pr_test: 10 lines, 0 failed (ran 10 lines)",
        f"{NAME}_pr_extract_entities.variant_1.evaluation_{NAME}_pr_test: 10 lines, 0 failed (ran 10 lines)",
    ]
    assert "gate f1 >= 0.6 on defaults: 0.7333 -> pass" in done.stdout
    assert "gate f1 >= 0.6 on extract_entities.variant_1: 0.8333 -> pass" in done.stdout
    latest = tmp_path / f"reports/{NAME}/pr/latest"
    results = rows(latest / "results.csv")
    assert len(results) == 2 * 10 and not any(r["error"] for r in results)
    dates = {r["variant_label"]: json.loads(r["output.entities"]) for r in results if r["input.entity_type"] == "date"}
    # The terse prompt rewrote the dates as 2024-03-01 and 2026-02-28, which grounding drops; few-shot kept them.
    assert dates == {"defaults": [], "extract_entities.variant_1": ["1 March 2024", "28 February 2026"]}
    metrics = {r["variant_label"]: r for r in rows(latest / "metrics.csv")}  # one row per variant x evaluation
    assert {label: (r["f1"], r["exact_match"], r["micro_f1"]) for label, r in metrics.items()} == {
        "defaults": ("0.7333", "0.6", "0.8421"), "extract_entities.variant_1": ("0.8333", "0.7", "0.9231")}


# The judge's recorded scores of the 16 logged answers; the five wrong on purpose (lines 3, 6, 8, 10, 12) all
# score 1 or 2, and so do two right ones (5 and 11): the README's 14 of 16.
JUDGED = [f"{score}.0" for score in (5, 5, 5, 1, 5, 2, 2, 5, 1, 5, 1, 2, 1, 5, 5, 5)]
JUDGE_AGREEMENT = ("judge evaluation_post_prod (gpt-35-turbo via replay, prompt 4caaccad0e8f): kappa 0.329 "
                   "[-0.050, 0.708], raw agreement 0.667, n=24")


def test_the_postprodeval_env_judges_the_production_log_with_its_standard_flow(tmp_path: Path) -> None:
    copy_use_case(tmp_path, NAME)
    judged = llmops(tmp_path, "run", "-u", NAME, "-e", "postprodeval")
    assert judged.returncode == 0, judged.stderr[-3000:]
    assert runs_table(judged.stdout) == [
        f"{NAME}_postprodeval_defaults_{NAME}_pp_eval: 16 lines, 0 failed (ran 16 lines); acceptable=0.562, "
        "score=3.438",
        f"{NAME}_postprodeval_calibration_{NAME}_evaluation_post_prod_calibration: 24 lines, 0 failed (ran 24 lines); "
        "acceptable=0.542, score=3.417"]
    # The judge against its 24 human labels (flows/evaluation_post_prod/calibration.jsonl), as the use case's
    # README gives it for the embedded model: 16 of 24 agree.
    assert JUDGE_AGREEMENT in judged.stdout
    assert "gate acceptable >= 0.5 on defaults: 0.5625 -> pass" in judged.stdout
    results = rows(tmp_path / f"reports/{NAME}/postprodeval/latest/results.csv")
    assert [r["output.score"] for r in results] == JUDGED


def test_post_prod_eval_of_dev_gives_the_same_judgements_and_compares_the_deployments(tmp_path: Path) -> None:
    copy_use_case(tmp_path, NAME)
    post_prod = llmops(tmp_path, "post-prod-eval", "-u", NAME, "-e", "dev")
    assert post_prod.returncode == 0, post_prod.stderr[-3000:]
    assert post_prod.stdout.startswith(f"source: dataset {NAME}_production_log version 1\n")
    assert "### Deployments: green (current) against blue (prior)" in post_prod.stdout
    assert JUDGE_AGREEMENT in post_prod.stdout  # the same judge, calibrated on the same labels
    results = rows(tmp_path / f"reports/post_prod/{NAME}/dev/latest/results.csv")
    assert [r["output.score"] for r in sorted(results, key=lambda r: int(r["line_index"]))] == JUDGED
