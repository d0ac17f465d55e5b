"""Gates against production through the CLI: v1 deployed on the local endpoint, then a broken and an equivalent v2.

The mini use case's flow is plain Python (no LLM): deterministic, and fast enough for a test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmops.serving import process
from tests.support.cli import llmops
from tests.support.mini_use_case import ROWS, edit_json, write_use_case

GATE = {"accuracy": {"threshold": ">= 0.1", "vs_production": {"margin": 0.1, "pass": ["better", "non-inferior"]}}}
V1 = 'word = "App" if "app" in url else "None"'


@pytest.fixture()
def repo(tmp_path: Path) -> Iterator[Path]:
    folder = write_use_case(tmp_path)
    (folder / "data/pr.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS * 3))  # 12 lines
    edit_json(folder / "llmops_config.json", lambda d: d["envs"][0].update({"GATES": GATE}))
    edit_json(folder / "configs/deployment_config.json", lambda d: d["local_endpoint"][0].update({
        "CURRENT_DEPLOYMENT_NAME": "blue", "CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION": "100",
        "PRIOR_DEPLOYMENT_NAME": "", "PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION": ""}))
    yield tmp_path
    process.stop(tmp_path / ".llmops", "mini")


def _classify(repo: Path, line: str) -> None:
    path = repo / "use_cases/mini/flows/standard/classify.py"
    path.write_text(path.read_text().replace(V1, line))


def test_production_gate_fails_a_worse_candidate_and_passes_an_equivalent_one(repo: Path) -> None:
    first = llmops(repo, "run", "-u", "mini", "-e", "pr")
    assert first.code == 0, first.err
    assert ("gate accuracy vs production: no verdict [nothing in production yet: endpoint 'mini' (env dev) does "
            "not exist] -> pass") in first.out
    assert llmops(repo, "register-model", "-u", "mini", "-e", "dev").code == 0
    assert llmops(repo, "endpoint", "up", "-u", "mini", "-e", "dev", "--provider", "replay").code == 0
    assert llmops(repo, "deploy", "-u", "mini", "-e", "dev").code == 0

    _classify(repo, 'word = "None"  # broken: every page is None')
    worse = llmops(repo, "run", "-u", "mini", "-e", "pr")
    assert worse.code == 3, worse.err
    assert ("production: model mini_dev version 1, variant defaults (deployment blue of endpoint mini, env dev, "
            "100% of live traffic)") in worse.out
    assert ("gate accuracy vs production on defaults · eval · mini_pr: worse (improvement -0.500, 95.00% interval "
            "[-0.832, -0.168], margin 0.1) -> FAIL") in worse.out
    # Production's runs on these lines are v1's own first runs: content-addressed, so reused.
    assert "(reused)" in worse.out.split("production:")[0]
    assert "1 of 1 checks against production failed" in worse.err

    path = repo / "use_cases/mini/flows/standard/classify.py"
    path.write_text(path.read_text().replace('word = "None"  # broken: every page is None',
                                             V1 + "  # the same answers, written again"))
    same = llmops(repo, "run", "-u", "mini", "-e", "pr")
    assert same.code == 0, same.err
    assert ("gate accuracy vs production on defaults · eval · mini_pr: non-inferior (improvement +0.000, 95.00% "
            "interval [+0.000, +0.000], margin 0.1) -> pass") in same.out
    report = Path(same.out.splitlines()[-1].removeprefix("report: "))
    section = json.loads((report / "summary.json").read_text())["against_production"]
    assert section["passed"] and [c["verdict"] for c in section["checks"]] == ["non-inferior"]
    # `llmops report` alone (no LLM session) finds the same production runs and gives the same verdict.
    again = llmops(repo, "report", "-u", "mini", "-e", "pr")
    assert again.code == 0 and "non-inferior" in again.out
