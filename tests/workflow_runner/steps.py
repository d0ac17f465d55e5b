"""Running the steps of one job (or of a composite action) in order, as the GitHub runner does: `if:` with
the job status, `run:` scripts through the job's shell, file commands applied after each step, `uses:`
emulated, continue-on-error and timeouts honoured, logs masked."""

from __future__ import annotations

import logging
import os
import re
import shlex
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops.errors import ConfigError
from tests.workflow_runner import emulated, files
from tests.workflow_runner.contexts import RunnerSettings
from tests.workflow_runner.expressions import Scope, condition, interpolate, to_string
from tests.workflow_runner.workflow import CompositeAction, Step, as_bool

log = logging.getLogger(__name__)
LOG_TAIL_LINES = 40


@dataclass
class StepResult:
    label: str
    outcome: str  # success, failure or skipped (before continue-on-error)
    conclusion: str  # after continue-on-error
    note: str = ""
    exit_code: int | None = None
    log: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    children: list[StepResult] = field(default_factory=list)

    def describe(self) -> str:
        mark = {"success": "ok", "failure": "FAILED", "skipped": "skipped"}[self.outcome]
        code = f", exit {self.exit_code}" if self.exit_code not in (None, 0) else ""
        note = f" - {self.note}" if self.note else ""
        return f"[{mark}{code}] {self.label} ({self.seconds:.1f} s){note}"


@dataclass
class JobState:
    """What the steps of one job share: contexts, the env and PATH the file commands built, masks, status."""

    settings: RunnerSettings
    job_id: str
    where: str
    contexts: dict[str, Any]
    env: dict[str, str]
    base_env: dict[str, str]
    defaults_run: dict[str, Any]
    deadline: float
    tracking_id: str
    path_additions: list[str] = field(default_factory=list)
    masks: list[str] = field(default_factory=list)
    status: str = "success"
    summary: list[str] = field(default_factory=list)
    counter: int = 0

    def scope(self, **extra: Any) -> Scope:
        contexts = {**self.contexts, "job": {"status": self.status}, **extra}
        return Scope(contexts=contexts, status=self.status, hash_files=self.hash_files)

    def hash_files(self, patterns: list[str]) -> str:
        import hashlib

        workspace = self.settings.workspace
        matched = sorted({p for pattern in patterns for p in workspace.glob(pattern) if p.is_file()})
        if not matched:
            return ""
        digest = hashlib.sha256()
        for path in matched:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()

    def redact(self, text: str) -> str:
        return files.redact(text, self.masks)


def _shell_command(shell: str | None, script: Path) -> list[str]:
    """GitHub's shells: no `shell:` is `bash -e {0}`; `shell: bash` adds --noprofile --norc and pipefail."""
    if shell in (None, ""):
        return ["bash", "-e", str(script)]
    known = {"bash": "bash --noprofile --norc -eo pipefail {0}", "sh": "sh -e {0}", "python": "python {0}"}
    template = known.get(str(shell), str(shell))
    if "{0}" not in template:
        template += " {0}"
    return [part.replace("{0}", str(script)) for part in shlex.split(template)]


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class StepRunner:
    """Runs a list of steps against one JobState; composite actions recurse with their own `steps` context."""

    def __init__(self, state: JobState) -> None:
        self.state = state

    # ---- one list of steps -----------------------------------------------------------------------------

    def run_all(self, steps: list[Step], where: str, extra: dict[str, Any], outer_env: dict[str, str],
                action_path: str = "") -> tuple[list[StepResult], dict[str, Any]]:
        results: list[StepResult] = []
        step_contexts: dict[str, Any] = {}
        run_steps_seen = 0
        for step in steps:
            step_where = f"{where}.steps[{step.index}]"
            scope_extra = {**extra, "steps": step_contexts}
            started = time.monotonic()
            if time.monotonic() > self.state.deadline:
                self.state.status = "cancelled"
            if_scope = self.state.scope(**scope_extra, env={**self.state.env, **outer_env})
            if not condition(step.raw.get("if"), if_scope, f"{step_where}.if"):
                result = StepResult(step.label, "skipped", "skipped", note="if: condition false")
            else:
                if step.run is not None:
                    run_steps_seen += 1
                action_id = step.id or ("__run" if step.run is not None else
                                        "__" + re.sub(r"[^A-Za-z0-9]+", "_", step.uses.split("@")[0]).strip("_"))
                if step.run is not None and not step.id and run_steps_seen > 1:
                    action_id = f"__run_{run_steps_seen}"
                result = self._run_one(step, step_where, scope_extra, outer_env, action_id, action_path)
                result.seconds = time.monotonic() - started
                if result.outcome == "failure":
                    continue_on_error = interpolate(step.raw.get("continue-on-error", "false"),
                                                    self.state.scope(**scope_extra), f"{step_where}.continue-on-error")
                    if as_bool(to_string(continue_on_error)):
                        result.conclusion = "success"
                    elif self.state.status == "success":
                        self.state.status = "failure"
            log.info("%s %s", self.state.job_id, result.describe())
            if result.outcome == "failure":
                tail = "\n".join(result.log.rstrip().splitlines()[-LOG_TAIL_LINES:])
                log.info("%s log tail:\n%s", self.state.job_id, tail)
            results.append(result)
            if step.id:
                step_contexts[step.id] = {"outputs": result.outputs, "outcome": result.outcome,
                                          "conclusion": result.conclusion}
        return results, step_contexts

    # ---- one step ----------------------------------------------------------------------------------------

    def _step_env(self, step: Step, where: str, scope_extra: dict[str, Any],
                  outer_env: dict[str, str]) -> dict[str, str]:
        env = {**self.state.env, **outer_env}
        for name, value in step.env.items():
            scope = self.state.scope(**scope_extra, env=dict(env))
            env[name] = to_string(interpolate(value, scope, f"{where}.env.{name}"))
        return env

    def _run_one(self, step: Step, where: str, scope_extra: dict[str, Any], outer_env: dict[str, str],
                 action_id: str, action_path: str) -> StepResult:
        env = self._step_env(step, where, scope_extra, outer_env)
        scope = self.state.scope(**scope_extra, env=env)
        github = {**self.state.contexts["github"], "action": action_id, "action_path": action_path}
        scope.contexts["github"] = github
        if step.run is not None:
            if step.uses:
                raise ConfigError([f"{where}: a step has either run or uses, not both"])
            return self._run_script(step, where, scope, env, action_id, action_path)
        if step.uses.startswith("./"):
            return self._run_composite(step, where, scope, env)
        if step.uses.startswith("docker://"):
            return StepResult(step.label, "success", "success", note="skipped: docker actions are not emulated")
        with_ = {k: to_string(interpolate(v, scope, f"{where}.with.{k}")) for k, v in step.with_.items()}
        call = emulated.ActionCall(uses=step.uses, with_=with_, env=env, workspace=self.state.settings.workspace,
                                   out_dir=self.state.settings.out_dir, venv=self.state.settings.venv,
                                   pull_request=self.state.settings.event.pull_request_number,
                                   checkout_source=self.state.settings.checkout_source)
        outcome = emulated.emulate(call)
        self.state.path_additions[:0] = outcome.add_path
        status = "success" if outcome.ok else "failure"
        return StepResult(step.label, status, status, note=outcome.note, outputs=outcome.outputs,
                          log=outcome.note + "\n")

    def _environment(self, env: dict[str, str], step_files: dict[str, Path], action_id: str,
                     action_path: str) -> dict[str, str]:
        path = os.pathsep.join([*self.state.path_additions, self.state.base_env.get("PATH", "")])
        return {**self.state.base_env, **env, **{k: str(v) for k, v in step_files.items()},
                "GITHUB_ACTION": action_id, "GITHUB_ACTION_PATH": action_path,
                "RUNNER_TRACKING_ID": self.state.tracking_id, "PATH": path}

    def _run_script(self, step: Step, where: str, scope: Scope, env: dict[str, str], action_id: str,
                    action_path: str) -> StepResult:
        settings = self.state.settings
        script_text = to_string(interpolate(step.run, scope, f"{where}.run"))
        shell = step.raw.get("shell") or self.state.defaults_run.get("shell")
        if action_path and not step.raw.get("shell"):
            raise ConfigError([f"{where}.shell: required in a composite action's run step (GitHub refuses "
                               "the action without it); add shell: bash"])
        self.state.counter += 1
        temp = settings.runner_temp
        temp.mkdir(parents=True, exist_ok=True)
        script = temp / f"{uuid.uuid4()}.{'py' if shell == 'python' else 'sh'}"
        script.write_text(script_text, encoding="utf-8")
        step_files = files.new_step_files(temp / "_runner_file_commands")
        directory = step.raw.get("working-directory") or self.state.defaults_run.get("working-directory") or "."
        cwd = settings.workspace / to_string(interpolate(directory, scope, f"{where}.working-directory"))
        timeout_minutes = step.raw.get("timeout-minutes")
        limit = self.state.deadline - time.monotonic()
        if timeout_minutes is not None:
            limit = min(limit, 60 * float(to_string(interpolate(timeout_minutes, scope, f"{where}.timeout-minutes"))))
        log_path = temp / "logs" / f"{self.state.job_id.replace('/', '__')}-{self.state.counter:02d}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        command = _shell_command(shell, script)
        with log_path.open("wb") as sink:
            process = subprocess.Popen(command, cwd=cwd, env=self._environment(env, step_files, action_id, action_path),
                                       stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
            timed_out = False
            try:
                code: int | None = process.wait(timeout=max(limit, 0.1))
            except subprocess.TimeoutExpired:
                _kill_group(process)
                code, timed_out = None, True
        raw_log = log_path.read_text(encoding="utf-8", errors="replace")
        commands = files.scan_commands(raw_log)
        self.state.masks.extend(commands.masks)
        text = self.state.redact(files.without_mask_commands(raw_log))
        log_path.write_text(text, encoding="utf-8")
        outputs = files.read_key_values(step_files["GITHUB_OUTPUT"])
        self.state.env.update(files.read_key_values(step_files["GITHUB_ENV"]))
        self.state.path_additions[:0] = list(reversed(files.read_paths(step_files["GITHUB_PATH"])))
        summary = step_files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8")
        if summary:
            self.state.summary.append(self.state.redact(summary))
        note = "timed out" if timed_out else ""
        if timed_out:
            text += f"\n##[error]The step has timed out after {limit / 60:.2f} minutes.\n"
        status = "success" if code == 0 else "failure"
        if code not in (0, None):
            text += f"\n##[error]Process completed with exit code {code}.\n"
        return StepResult(step.label, status, status, note=note, exit_code=code, log=text, outputs=outputs)

    def _run_composite(self, step: Step, where: str, scope: Scope, env: dict[str, str]) -> StepResult:
        folder = self.state.settings.workspace / step.uses.split("@", 1)[0]
        action = CompositeAction.load(folder)
        inputs = {k: to_string(interpolate(v, scope, f"{where}.with.{k}")) for k, v in step.with_.items()}
        unknown = sorted(set(inputs) - set(action.input_defaults))
        if unknown:
            raise ConfigError([f"{where}.with: unknown input(s) {', '.join(unknown)} for {step.uses}; "
                               f"valid: {', '.join(sorted(action.input_defaults)) or '(none)'}"])
        missing = [name for name in action.required_inputs if name not in inputs]
        if missing:
            raise ConfigError([f"{where}.with: {step.uses} requires input(s) {', '.join(missing)}"])
        github = {**self.state.contexts["github"], "action_path": str(folder)}
        for name, default in action.input_defaults.items():
            if name not in inputs:
                default_scope = self.state.scope(github=github, env=env)
                inputs[name] = to_string(interpolate(default, default_scope, f"{folder}/action.yml: inputs.{name}"))
        # A composite action sees github, env, inputs, steps, runner, job, strategy and matrix; not secrets.
        extra = {"github": github, "inputs": inputs, "secrets": {}, "vars": {}}
        status_before = self.state.status  # the composite step as a whole decides, after continue-on-error
        children, step_contexts = self.run_all(action.steps, f"{folder.name}/action.yml: runs", extra, env,
                                               action_path=str(folder))
        self.state.status = status_before
        outputs = {name: to_string(interpolate(value, self.state.scope(**extra, steps=step_contexts, env=env),
                                               f"{folder.name}/action.yml: outputs.{name}.value"))
                   for name, value in action.outputs.items()}
        failed = any(child.conclusion == "failure" for child in children)
        status = "failure" if failed else "success"
        text = "".join(f"--- {child.describe()}\n{child.log}" for child in children)
        return StepResult(step.label, status, status, note=f"composite action {step.uses}", log=text,
                          outputs=outputs, children=children)
