"""How the emulator runs one online deployment: a real llmops endpoint server process on loopback.

`start_deployment_server` is the one place that knows how: today from the model version's snapshot, as
a one-deployment local endpoint (a generated use case whose standard flow is the snapshot, the model
registered in a state directory of its own, the deployment at 100%), started with `python -m
llmops.serving`. When the serving image's build context exists, this function starts the server from
that instead; nothing else in the emulator changes.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.backends.endpoints import Deployment
from llmops.backends.local.registry import endpoints, models
from llmops.backends.traffic import Split
from llmops.config.flow import load_flow
from llmops.serving import process

USE_CASE, ENV = "served", "serve"


@dataclass(frozen=True)
class Release:
    """What a deployment runs: the model version's snapshot, its variant and its environment variables."""

    endpoint: str
    deployment: str
    model_name: str
    model_version: int
    snapshot: Path
    lineage: dict[str, Any]
    variant: dict[str, str]
    environment_variables: dict[str, str]


@dataclass(frozen=True)
class RunningServer:
    url: str  # http://127.0.0.1:<port>
    state_dir: Path
    name: str

    def stop(self) -> None:
        process.stop(self.state_dir, self.name, timeout=10)


def _write_use_case(root: Path, release: Release) -> None:
    folder = root / "use_cases" / USE_CASE
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(release.snapshot, folder / "flows" / "standard")
    flow_file = str(release.lineage.get("flow_file") or "")
    standard = "flows/standard" + (f"/{flow_file}" if flow_file.endswith(".prompty") else "")
    problems: list[Any] = []
    flow = load_flow(folder / standard, None, problems, ("snapshot", ""))
    inputs = list(flow.inputs) if flow is not None else []
    configs = {
        "llmops_config.json": {"envs": [{"ENV_NAME": ENV, "STANDARD_FLOW_PATH": standard}]},
        "configs/mapping_config.json": {"experiment": {name: f"${{data.{name}}}" for name in inputs}},
        "configs/data_config.json": {"datasets": [{"ENV_NAME": ENV, "DATA_PURPOSE": "pr_data",
                                                   "DATA_PATH": "data/none.jsonl", "DATASET_NAME": USE_CASE}]},
        "configs/deployment_config.json": {"local_endpoint": [{
            "ENV_NAME": ENV, "ENDPOINT_NAME": release.deployment, "CURRENT_DEPLOYMENT_NAME": release.deployment}]},
    }
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "data" / "none.jsonl").write_text(json.dumps({name: "" for name in inputs}) + "\n", encoding="utf-8")
    (folder / "sample-request.json").write_text(json.dumps({name: "" for name in inputs}), encoding="utf-8")
    for rel, content in configs.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(json.dumps(content, indent=2), encoding="utf-8")


def start_deployment_server(work_dir: Path, release: Release) -> RunningServer:
    """Start the deployment's server in `work_dir` (made fresh); returns once it answers /health."""
    shutil.rmtree(work_dir, ignore_errors=True)
    root, state = work_dir / "repo", work_dir / "repo" / ".llmops"
    _write_use_case(root, release)
    folder = root / "use_cases" / USE_CASE / "flows" / "standard"
    model = models.register(state, release.model_name, folder, release.lineage)
    name = release.deployment
    endpoints.ensure_endpoint(state, name, USE_CASE, ENV, "replay")
    endpoints.put_deployment(state, Deployment(name, name, model.name, model.version, "standard", release.variant,
                                               ",".join(f"{k}.{v}" for k, v in release.variant.items()) or "defaults",
                                               release.environment_variables))
    endpoints.set_split(state, name, Split({name: 100}), "the emulator's deployment")
    info, _ = process.start(process.ServeOptions(root=root, state_dir=state, use_case=USE_CASE, env=ENV,
                                                 endpoint=name, provider="replay", threads=8), timeout=120)
    return RunningServer(info.url, state, name)
