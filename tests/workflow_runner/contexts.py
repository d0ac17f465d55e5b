"""The `github` and `runner` contexts, and the default GITHUB_* / RUNNER_* variables every step sees."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.workflow_runner.events import Event

RUN_ID = "4242"
LOCAL_TOKEN = "ghs_localrunnertoken0000000000000000000"  # a placeholder GITHUB_TOKEN; masked like a real one
# Variables of the machine running the tests that must not leak into a job (it gets its own).
_FOREIGN_PREFIXES = ("GITHUB_", "RUNNER_", "ACTIONS_", "LLMOPS_", "PYTEST_", "VIRTUAL_ENV")


@dataclass
class RunnerSettings:
    """Where and as what a local run happens.

    `workspace` is the working copy. With `isolated_jobs`, each job runs in an empty folder of its own, where
    actions/checkout copies the working copy, as every job of a GitHub run starts on a fresh machine (what one
    job leaves behind reaches the next only through artifacts); otherwise jobs run in the working copy itself
    and checkout does nothing."""

    workspace: Path
    out_dir: Path
    venv: Path
    event: Event
    vars: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    host_env: dict[str, str] | None = None
    isolated_jobs: bool = False
    checkout_source: Path | None = None  # set on a job's own settings when it runs isolated

    @property
    def runner_temp(self) -> Path:
        return self.out_dir / "runner_temp"


def host_environment(settings: RunnerSettings) -> dict[str, str]:
    """The machine's variables minus CI and test ones, and with the venv off PATH: `llmops` must come from
    the workflow's own set-up, as on a fresh GitHub runner."""
    source = dict(settings.host_env if settings.host_env is not None else os.environ)
    env = {k: v for k, v in source.items() if not k.startswith(_FOREIGN_PREFIXES) and k != "CI"}
    venv_bin = str((settings.venv / "bin").resolve())
    entries = [p for p in env.get("PATH", os.defpath).split(os.pathsep)
               if p and os.path.realpath(p) != venv_bin]
    env["PATH"] = os.pathsep.join(entries)
    return env


def github_context(settings: RunnerSettings, workflow_name: str, job_id: str, event_path: Path) -> dict[str, Any]:
    event = settings.event
    owner = event.repository.split("/", 1)[0]
    return {
        "action": "", "action_path": "", "action_ref": "", "action_repository": "",
        "actor": "local-runner", "api_url": "https://api.github.com", "base_ref": event.base_ref,
        "env": "", "event": event.payload, "event_name": event.name, "event_path": str(event_path),
        "graphql_url": "https://api.github.com/graphql", "head_ref": event.head_ref, "job": job_id,
        "path": "", "ref": event.ref, "ref_name": event.ref_name,
        "ref_type": "tag" if event.ref.startswith("refs/tags/") else "branch", "repository": event.repository,
        "repository_owner": owner, "retention_days": "90", "run_attempt": "1", "run_id": RUN_ID,
        "run_number": "1", "server_url": "https://github.com", "sha": event.sha, "step_summary": "",
        "token": LOCAL_TOKEN, "triggering_actor": "local-runner", "workflow": workflow_name,
        "workspace": str(settings.workspace),
    }


def runner_context(settings: RunnerSettings) -> dict[str, Any]:
    return {"arch": "X64", "debug": "", "environment": "self-hosted", "name": "local-workflow-runner", "os": "Linux",
            "temp": str(settings.runner_temp), "tool_cache": str(settings.out_dir / "tool_cache")}


def default_variables(github: dict[str, Any], runner: dict[str, Any]) -> dict[str, str]:
    """The variables GitHub sets in every step (GITHUB_ENV, GITHUB_OUTPUT... are added per step)."""
    names = ("action", "action_path", "actor", "api_url", "base_ref", "event_name", "event_path", "graphql_url",
             "head_ref", "job", "ref", "ref_name", "ref_type", "repository", "repository_owner", "retention_days",
             "run_attempt", "run_id", "run_number", "server_url", "sha", "triggering_actor", "workflow",
             "workspace")
    env = {f"GITHUB_{name.upper()}": str(github[name]) for name in names}
    env.update({f"RUNNER_{k.upper()}": str(v) for k, v in runner.items() if k != "debug"})
    env.update({"GITHUB_ACTIONS": "true", "CI": "true", "RUNNER_WORKSPACE": str(Path(github["workspace"]).parent)})
    return env
