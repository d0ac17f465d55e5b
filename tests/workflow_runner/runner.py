"""Running the jobs of a workflow on this machine: in `needs` order, with job `if:`, matrix expansion,
reusable workflows called with their inputs, secrets and the permission ceiling GitHub enforces, job
outputs, job summaries, and the orphan processes of a job ended when it ends (as the GitHub runner does)."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from llmops.errors import ConfigError, UsageError
from tests.workflow_runner import permissions
from tests.workflow_runner.contexts import (
    LOCAL_TOKEN,
    RunnerSettings,
    default_variables,
    github_context,
    host_environment,
    runner_context,
)
from tests.workflow_runner.emulated import COMMENTS_FILE
from tests.workflow_runner.expressions import Scope, condition, interpolate, to_string
from tests.workflow_runner.steps import JobState, StepResult, StepRunner
from tests.workflow_runner.workflow import Job, Workflow, as_bool

log = logging.getLogger(__name__)
DEFAULT_JOB_TIMEOUT_MINUTES = 360
UNSUPPORTED_JOB_KEYS = ("container", "services")
ERROR_LINES_SHOWN = 12  # lines naming an error, from above the tail of a failed step's log
FAILED_LOG_LINES = 6


@dataclass
class JobResult:
    id: str
    result: str  # success, failure, cancelled or skipped
    steps: list[StepResult] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    permissions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    workspace: Path | None = None  # where its steps ran (isolated jobs: emptied again by the next job)

    @property
    def exit_code(self) -> int:
        return 0 if self.result in ("success", "skipped") else 1

    def step(self, label: str) -> StepResult:
        """The step whose name starts with `label`."""
        for step in self.steps:
            if step.label.startswith(label):
                return step
        raise KeyError(f"no step named '{label}...' in job {self.id}; steps: {[s.label for s in self.steps]}")

    def describe(self) -> str:
        """The job, its steps and notes; a failed step with the last lines of its log (the reason, usually)."""
        lines = [f"job {self.id}: {self.result}"]
        for step in self.steps:
            lines.append(f"  {step.describe()}")
            if step.outcome == "failure":
                log = step.log.rstrip().splitlines()
                # The cause is often far above the tail (pytest's "ERROR collecting ..." before its summary).
                earlier = [line for line in log[:-FAILED_LOG_LINES] if re.search(r"\bERROR\b|Error\b|^E ", line)]
                lines += [f"    : {line}" for line in earlier[:ERROR_LINES_SHOWN]]
                lines += [f"    | {line}" for line in log[-FAILED_LOG_LINES:]]
        return "\n".join(lines + [f"  note: {n}" for n in self.notes])


@dataclass
class WorkflowResult:
    workflow: Path
    jobs: dict[str, JobResult]
    out_dir: Path

    @property
    def result(self) -> str:
        if any(j.result == "failure" for j in self.jobs.values()):
            return "failure"
        if any(j.result == "cancelled" for j in self.jobs.values()):
            return "cancelled"
        return "success"

    @property
    def exit_code(self) -> int:
        return 0 if self.result == "success" else 1

    @property
    def artifacts_dir(self) -> Path:
        return self.out_dir / "artifacts"

    def comments(self) -> list[dict[str, Any]]:
        """The pull-request comments the run created or updated (id, pull_request, body, updates)."""
        store = self.out_dir / COMMENTS_FILE
        return json.loads(store.read_text(encoding="utf-8")) if store.is_file() else []

    def describe(self) -> str:
        return "\n".join([f"workflow {self.workflow.name}: {self.result}"] + [j.describe() for j in self.jobs.values()])


def typed_inputs(specs: dict[str, dict[str, Any]], given: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Inputs with defaults applied and converted to their declared type, as the `inputs` context holds them."""
    unknown = sorted(set(given) - set(specs))
    if unknown:
        raise ConfigError([f"{where}: unknown input(s) {', '.join(unknown)}; declared: {', '.join(sorted(specs))}"])
    values: dict[str, Any] = {}
    for name, spec in specs.items():
        kind = str(spec.get("type", "string"))
        if name in given:
            value = given[name]
        elif "default" in spec:
            value = spec["default"]
        elif as_bool(spec.get("required")):
            raise ConfigError([f"{where}: input '{name}' is required and was not given"])
        else:
            value = ""
        if kind == "boolean":
            values[name] = value if isinstance(value, bool) else as_bool(to_string(value))
        elif kind == "number":
            values[name] = float(to_string(value) or 0)
        else:
            text = to_string(value)
            options = [str(o) for o in spec.get("options") or []]
            if kind == "choice" and text not in options:
                raise ConfigError([f"{where}: input '{name}' is '{text}'; valid: {', '.join(options)}"])
            values[name] = text
    return values


def _interpolate_tree(value: Any, scope: Scope, where: str) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate_tree(v, scope, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate_tree(v, scope, f"{where}[{i}]") for i, v in enumerate(value)]
    return interpolate(value, scope, where)


def process_alive(pid: int) -> bool:
    """True while `pid` runs; a zombie (ended, not yet reaped by its new parent) counts as ended."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def kill_orphans(tracking_id: str) -> list[int]:
    """End the processes a job left running: those whose environment carries this job's tracking id
    (the GitHub runner's own method). Only processes this runner started can carry it."""
    needle = f"RUNNER_TRACKING_ID={tracking_id}".encode()
    killed: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                os.kill(int(entry.name), signal.SIGTERM)
                killed.append(int(entry.name))
        except (OSError, ValueError):
            continue  # gone already, or not ours to read
    deadline = time.monotonic() + 5
    for pid in killed:
        while time.monotonic() < deadline and process_alive(pid):
            time.sleep(0.05)
        if process_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    return killed


class WorkflowRunner:
    def __init__(self, settings: RunnerSettings) -> None:
        self.settings = settings
        settings.out_dir.mkdir(parents=True, exist_ok=True)
        self.event_path = settings.out_dir / "event.json"
        self.event_path.write_text(json.dumps(settings.event.payload, indent=2), encoding="utf-8")
        self.secrets = {"GITHUB_TOKEN": LOCAL_TOKEN, **settings.secrets}

    def _path(self, workflow: Path | str) -> Path:
        path = Path(workflow)
        return path if path.is_absolute() else self.settings.workspace / path

    def run_workflow(self, workflow: Path | str, jobs: Sequence[str] | None = None,
                     inputs: Mapping[str, Any] | None = None) -> WorkflowResult:
        """Run the jobs of `workflow` (all, or those named) for the settings' event."""
        wf = Workflow.load(self._path(workflow))
        event = self.settings.event
        if event.name not in wf.triggers:
            raise UsageError(f"{wf.path.name} is not triggered by '{event.name}'; its triggers: "
                             f"{', '.join(wf.triggers)}")
        given = {**event.inputs, **(inputs or {})}
        specs = wf.input_specs(event.name) if event.name in ("workflow_dispatch", "workflow_call") else {}
        inputs_context = typed_inputs(specs, given, f"{wf.path.name}: on.{event.name}.inputs") if specs else {}
        if jobs is not None:
            unknown = sorted(set(jobs) - set(wf.jobs))
            if unknown:
                raise UsageError(f"unknown job(s) {', '.join(unknown)} in {wf.path.name}; jobs: {', '.join(wf.jobs)}")
        results: dict[str, JobResult] = {}
        self._run_jobs(wf, inputs_context, self.secrets, "", jobs, None, wf.name, results)
        return WorkflowResult(workflow=wf.path, jobs=results, out_dir=self.settings.out_dir)

    def _run_jobs(self, wf: Workflow, inputs: dict[str, Any], secrets: dict[str, str], prefix: str,
                  only: Sequence[str] | None, ceiling: permissions.Permissions | None, workflow_name: str,
                  results: dict[str, JobResult]) -> dict[str, JobResult]:
        local: dict[str, JobResult] = {}
        for job_id in wf.job_order():
            if only is not None and job_id not in only:
                continue
            job = wf.job(job_id)
            missing = [n for n in job.needs if n not in local]
            if missing:
                raise UsageError(f"job '{job_id}' needs {', '.join(missing)}, which this run leaves out; "
                                 "select those jobs too")
            needs = {n: {"result": local[n].result, "outputs": local[n].outputs} for n in job.needs}
            local[job_id] = self._run_entry(wf, job, prefix + job_id, inputs, secrets, needs, ceiling,
                                            workflow_name, results)
        return local

    def _run_entry(self, wf: Workflow, job: Job, qualified: str, inputs: dict[str, Any], secrets: dict[str, str],
                   needs: dict[str, Any], ceiling: permissions.Permissions | None, workflow_name: str,
                   results: dict[str, JobResult]) -> JobResult:
        where = f"{wf.path.name}: jobs.{job.id}"
        github = github_context(self.settings, workflow_name, job.id, self.event_path)
        base = {"github": github, "needs": needs, "vars": dict(self.settings.vars), "inputs": inputs}
        results_of_needs = [n["result"] for n in needs.values()]
        status = ("failure" if "failure" in results_of_needs else "cancelled" if "cancelled" in results_of_needs
                  else "success" if all(r == "success" for r in results_of_needs) else "skipped")
        if not condition(job.raw.get("if"), Scope(contexts=base, status=status), f"{where}.if"):
            results[qualified] = JobResult(qualified, "skipped", notes=["if: condition false"])
            log.info("job %s: skipped (if: condition false)", qualified)
            return results[qualified]
        strategy = dict(job.raw.get("strategy") or {})
        if "matrix" in strategy:
            strategy["matrix"] = _interpolate_tree(strategy["matrix"], Scope(contexts=base), f"{where}.strategy.matrix")
        combos = Job(job.id, {**job.raw, "strategy": strategy}).matrix_combinations()
        runs: list[JobResult] = []
        for index, matrix in enumerate(combos):
            name = qualified + (f" ({', '.join(to_string(v) for v in matrix.values())})" if matrix else "")
            contexts = {**base, "matrix": matrix, "secrets": secrets,
                        "strategy": {"job-index": index, "job-total": len(combos), "fail-fast": True}}
            if job.uses:
                run = self._call_reusable(wf, job, name, contexts, ceiling, results)
            else:
                run = self._run_job(wf, job, name, contexts, ceiling)
            results[name] = run
            runs.append(run)
        if len(runs) == 1:
            return runs[0]
        worst = next((r for r in ("failure", "cancelled") if any(x.result == r for x in runs)), "success")
        return JobResult(qualified, worst, outputs=runs[-1].outputs, notes=[f"matrix of {len(runs)} jobs"])

    def _call_reusable(self, wf: Workflow, job: Job, qualified: str, contexts: dict[str, Any],
                       ceiling: permissions.Permissions | None, results: dict[str, JobResult]) -> JobResult:
        where = f"{wf.path.name}: jobs.{job.id}"
        if not job.uses.startswith("./"):
            raise ConfigError([f"{where}.uses: '{job.uses}' is a remote reusable workflow; only local ones "
                               "(./.github/workflows/...) run here"])
        called = Workflow.load(self.settings.workspace / job.uses)
        if "workflow_call" not in called.triggers:
            raise ConfigError([f"{where}.uses: {job.uses} has no 'on: workflow_call', so it cannot be called"])
        scope = Scope(contexts=contexts)
        given = {k: interpolate(v, scope, f"{where}.with.{k}") for k, v in (job.raw.get("with") or {}).items()}
        inputs = typed_inputs(called.input_specs("workflow_call"), given, f"{where}.with")
        declared = {str(k): dict(v or {}) for k, v in
                    (called.triggers["workflow_call"].get("secrets") or {}).items()}
        passed = job.raw.get("secrets")
        if passed == "inherit":
            secrets = dict(contexts["secrets"])
        else:
            secrets = {str(k): to_string(interpolate(v, scope, f"{where}.secrets.{k}"))
                       for k, v in dict(passed or {}).items()}
            undeclared = sorted(set(secrets) - set(declared))
            if undeclared:
                raise ConfigError([f"{where}.secrets: {', '.join(undeclared)} not declared by {job.uses}'s "
                                   f"on.workflow_call.secrets"])
        for name, spec in declared.items():
            if as_bool(spec.get("required")) and not secrets.get(name):
                raise ConfigError([f"{where}.secrets: {name} is required by {job.uses}"])
        secrets["GITHUB_TOKEN"] = LOCAL_TOKEN
        granted = permissions.effective(job.raw.get("permissions"), wf.raw.get("permissions"), ceiling, where)
        if ceiling is not None:
            permissions.check_within(granted, ceiling, qualified)
        # GitHub checks every called job's permissions before any of them starts.
        for inner_id, called_job in called.jobs.items():
            if not called_job.uses:
                asked = permissions.effective(called_job.raw.get("permissions"), called.raw.get("permissions"),
                                              granted, f"{called.path.name}: jobs.{inner_id}")
                permissions.check_within(asked, granted, f"{qualified}/{inner_id}")
        log.info("job %s: calls %s", qualified, job.uses)
        inner = self._run_jobs(called, inputs, secrets, qualified + "/", None, granted,
                               contexts["github"]["workflow"], results)
        jobs_context = {k: {"result": v.result, "outputs": v.outputs} for k, v in inner.items()}
        outputs = {str(k): to_string(interpolate((v or {}).get("value", ""), Scope(contexts={**contexts,
                                                                                              "jobs": jobs_context}),
                                                 f"{called.path.name}: on.workflow_call.outputs.{k}"))
                   for k, v in (called.triggers["workflow_call"].get("outputs") or {}).items()}
        worst = next((r for r in ("failure", "cancelled") if any(x.result == r for x in inner.values())), "success")
        return JobResult(qualified, worst, outputs=outputs, permissions=permissions.granted(granted),
                         notes=[f"called {job.uses}: {', '.join(f'{k} {v.result}' for k, v in inner.items())}"])

    def _run_job(self, wf: Workflow, job: Job, qualified: str, contexts: dict[str, Any],
                 ceiling: permissions.Permissions | None) -> JobResult:
        where = f"{wf.path.name}: jobs.{job.id}"
        for key in UNSUPPORTED_JOB_KEYS:
            if key in job.raw:
                raise ConfigError([f"{where}.{key}: not emulated by the local runner"])
        granted = permissions.effective(job.raw.get("permissions"), wf.raw.get("permissions"), ceiling, where)
        if ceiling is not None:
            permissions.check_within(granted, ceiling, qualified)
        notes = [f"runs-on {job.raw.get('runs-on')}: this machine"]
        scope = Scope(contexts={**contexts, "env": {}})
        if "environment" in job.raw:
            environment = job.raw["environment"]
            name = environment.get("name") if isinstance(environment, dict) else environment
            notes.append(f"environment '{to_string(interpolate(name, scope, f'{where}.environment'))}': its "
                         "protection rules (required reviewers, wait timer) are GitHub's and not emulated")
        workflow_env = {k: to_string(interpolate(v, scope, f"{wf.path.name}: env.{k}")) for k, v in wf.env.items()}
        scope = Scope(contexts={**contexts, "env": workflow_env})
        job_env = {k: to_string(interpolate(v, scope, f"{where}.env.{k}")) for k, v in job.env.items()}
        settings = self.settings
        if settings.isolated_jobs:
            # A fresh machine per job, at the same path every time, as GitHub-hosted runners use
            # /home/runner/work/<repo>/<repo>: what a job leaves reaches the next only through artifacts.
            name = settings.event.repository.split("/")[-1]
            job_workspace = settings.out_dir / "work" / name / name
            if job_workspace.exists():
                shutil.rmtree(job_workspace)
            job_workspace.mkdir(parents=True)
            settings = replace(settings, workspace=job_workspace, checkout_source=self.settings.workspace)
            contexts = {**contexts, "github": {**contexts["github"], "workspace": str(job_workspace)}}
            notes.append(f"fresh workspace {job_workspace}, emptied before the job as on a new runner")
        runner = runner_context(settings)
        timeout = float(to_string(interpolate(job.raw.get("timeout-minutes", DEFAULT_JOB_TIMEOUT_MINUTES), scope,
                                              f"{where}.timeout-minutes")))
        state = JobState(
            settings=settings, job_id=qualified, where=where,
            contexts={**contexts, "runner": runner, "job": {"status": "success"}},
            env={**workflow_env, **job_env},
            base_env={**host_environment(settings), **default_variables(contexts["github"], runner),
                      "GITHUB_EVENT_PATH": str(self.event_path)},
            defaults_run={**wf.defaults_run, **job.defaults_run},
            deadline=time.monotonic() + 60 * timeout, tracking_id=f"local_{uuid.uuid4().hex}",
            masks=[v for v in contexts["secrets"].values() if v] + [line for v in contexts["secrets"].values()
                                                                     for line in v.splitlines() if line.strip()],
        )
        log.info("job %s: started", qualified)
        steps, step_contexts = StepRunner(state).run_all(job.steps, where, {}, {})
        killed = kill_orphans(state.tracking_id)
        if killed:
            notes.append(f"ended orphan process(es) left running by the job: {', '.join(map(str, killed))}")
        outputs: dict[str, str] = {}
        for name, value in job.outputs.items():
            text = to_string(interpolate(value, state.scope(steps=step_contexts, env=state.env),
                                         f"{where}.outputs.{name}"))
            if state.redact(text) != text:
                notes.append(f"output '{name}' skipped: it may contain a secret")
                continue
            outputs[name] = text
        summary = "".join(state.summary)
        summary_file = self.settings.out_dir / "summaries" / f"{qualified.replace('/', '__')}.md"
        summary_file.parent.mkdir(parents=True, exist_ok=True)
        summary_file.write_text(summary, encoding="utf-8")
        result = "success" if state.status == "success" else state.status
        log.info("job %s: %s", qualified, result)
        return JobResult(qualified, result, steps=steps, outputs=outputs, summary=summary,
                         permissions=permissions.granted(granted), notes=notes, workspace=settings.workspace)
