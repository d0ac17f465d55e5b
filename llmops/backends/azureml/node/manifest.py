"""The manifest of a step's job: what every node needs to run its lines as a laptop would, and nothing secret.

Written by the executor into the job's code bundle (manifest.json beside the entry script), read by each
worker's init(). The lines themselves (run id, line index, the flow inputs with the mapping already
applied) are the parallel node's input data, a folder of shard files (shards.py), so a retry of the same
runs ships the same bundle.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class RunEntry:
    """A run: its flow snapshot in the bundle, with the variant dag (write_variant_dag) already written."""

    flow: str  # the flow's name: call tags and the cassette file are found by it
    folder: str  # the snapshot's folder, relative to the bundle
    flow_file: str  # the flow's file inside `folder`: flow.dag.yaml, flow.flex.yaml or <name>.prompty
    variant: dict[str, str]
    variant_label: str
    trial: int = 0  # the run's repeated trial: its calls are tagged with it, as on a laptop


@dataclass(frozen=True)
class LlmPlan:
    """The laptop's LLM session, remade on each worker (llmops.llm.session.LlmSettings), keys aside."""

    provider: str
    choices: dict[str, str]  # connection the runs use -> the profile the laptop chose (replay, azure_openai...)
    max_concurrency: int  # CONCURRENCY: LLM calls in flight per upstream, per worker process
    simulated_latency_s: float = 0.1
    embedded_model: str = ""
    record_hint: str = ""
    cache: bool = True


@dataclass(frozen=True)
class VaultPlan:
    """Where the connections' secrets are: the vault's URL and its tokens' scope; never a value."""

    name: str
    url: str
    scope: str
    secrets: dict[str, str] = field(default_factory=dict)  # connection -> secret name


@dataclass(frozen=True)
class Manifest:
    use_case: str
    env: str
    kind: str
    lines_in_flight: int  # lines a worker runs at once (run_execution.lines_in_flight of CONCURRENCY)
    llm: LlmPlan
    runs: dict[str, RunEntry]  # run id -> entry
    vault: VaultPlan | None = None

    def write(self, folder: Path) -> Path:
        path = folder / MANIFEST_FILE
        path.write_text(json.dumps(asdict(self), indent=1, sort_keys=True), encoding="utf-8")
        return path

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        raw: dict[str, Any] = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        vault = raw.get("vault")
        return cls(
            use_case=raw["use_case"], env=raw["env"], kind=raw["kind"], lines_in_flight=raw["lines_in_flight"],
            llm=LlmPlan(**raw["llm"]), runs={run_id: RunEntry(**entry) for run_id, entry in raw["runs"].items()},
            vault=VaultPlan(**vault) if vault else None,
        )
