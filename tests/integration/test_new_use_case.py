"""`llmops new`: a use case copied from a shipped one replays its source's recorded answers at once; the prompty
template validates and runs against a provider; bad names and sources are refused, naming what is valid."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.loopback_upstream import LoopbackUpstream
from tests.support.repo_copy import REPO, copy_use_case

pytestmark = pytest.mark.timeout(300)


def llmops(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "LLMOPS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "llmops", "--root", str(root), *args], env=env,
                          capture_output=True, text=True, timeout=240)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """web_classification and its caller workflows, as a fresh clone has them."""
    copy_use_case(tmp_path)
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    for path in (REPO / ".github" / "workflows").glob("web_classification_*.yml"):
        shutil.copy(path, workflows)
    return tmp_path


def test_a_copy_of_web_classification_replays_its_recorded_answers(repo: Path) -> None:
    created = llmops(repo, "new", "demo_uc")
    assert created.returncode == 0, created.stderr
    assert "created use_cases/demo_uc from web_classification" in created.stdout
    names = sorted(p.name for p in (repo / ".github" / "workflows").glob("demo_uc_*.yml"))
    assert names == ["demo_uc_ci_dev_workflow.yml", "demo_uc_post_prod_eval.yml", "demo_uc_pr_dev_workflow.yml"]
    caller = (repo / ".github" / "workflows" / "demo_uc_pr_dev_workflow.yml").read_text()
    assert "use_cases/demo_uc/**" in caller and "use_case: demo_uc" in caller and "web_classification" not in caller
    data = json.loads((repo / "use_cases/demo_uc/configs/data_config.json").read_text())
    assert {d["DATASET_NAME"] for d in data["datasets"]} >= {"demo_uc_pr", "demo_uc_pr_test", "demo_uc_dev"}
    ran = llmops(repo, "run", "-u", "demo_uc", "-e", "pr", "--provider", "replay")
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "gate accuracy >= 0.6 on defaults: 1.0 -> pass" in ran.stdout


ANSWERS = {"France": "Paris", "week": "7", "sky": "Blue.", "planet": "Jupiter", "gold": "Au"}


class QuizUpstream(LoopbackUpstream):
    """Answers the template's quiz questions as a good model would."""

    def answer(self, path: str, headers: dict[str, str], raw_body: bytes) -> tuple[int, dict[str, str], bytes]:
        status, extra, body = super().answer(path, headers, raw_body)
        if status == 200:
            question = str(json.loads(raw_body)["messages"][-1]["content"])
            completion: dict[str, Any] = json.loads(body)
            completion["choices"][0]["message"]["content"] = next(
                (a for k, a in ANSWERS.items() if k in question), "I do not know")
            body = json.dumps(completion).encode()
        return status, extra, body


def test_the_prompty_template_validates_and_runs(repo: Path) -> None:
    assert llmops(repo, "new", "quiz", "--from", "prompty").returncode == 0
    assert not (repo / ".github/workflows/quiz_post_prod_eval.yml").exists()  # no post-production flow to run
    checked = llmops(repo, "validate", "--use-case", "quiz")
    assert checked.returncode == 0 and "quiz: ok (2 envs: pr, dev; 4 datasets)" in checked.stdout, checked.stdout
    with QuizUpstream() as upstream:
        (repo / ".env").write_text(f"AZURE_OPENAI_ENDPOINT={upstream.url}\nAZURE_OPENAI_API_KEY=stub-key-0123456789\n"
                                   "OPENAI_API_VERSION=2024-02-01\n")
        ran = llmops(repo, "run", "-u", "quiz", "-e", "pr")
    assert ran.returncode == 0, ran.stdout + ran.stderr[-3000:]
    assert "gate accuracy >= 0.6 on defaults: 1.0 -> pass" in ran.stdout
    assert "5 lines, 0 failed" in ran.stdout


@pytest.mark.parametrize(("args", "code", "message"), [
    (["new", "Demo-UC"], 2, "use case name 'Demo-UC': use 2 to 49 lower-case letters, digits and underscores"),
    (["new", "demo", "--from", "nosuch"], 1,
     "unknown use case or template to start from 'nosuch'; valid: prompty, web_classification"),
    (["new", "web_classification"], 1, "'use_cases/web_classification' already exists; pick another name"),
])
def test_bad_names_and_sources_are_refused(repo: Path, args: list[str], code: int, message: str) -> None:
    done = llmops(repo, *args)
    assert done.returncode == code and message in done.stderr, done.stderr
