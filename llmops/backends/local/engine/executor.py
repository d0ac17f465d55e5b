"""The local executor: a step's lines run here, in process, with prompt flow's executor (flow_runner.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmops.backends.local.engine.prepared_flow import prepare
from llmops.backends.local.engine.promptflow_connections import sync_connections
from llmops.backends.local.engine.promptflow_env import configure_promptflow
from llmops.backends.local.engine.run_execution import execute_all
from llmops.backends.local.engine.snapshot import materialize
from llmops.backends.protocols import FlowSession, RunRegistry
from llmops.backends.types import LineOutcome, ProgressFactory, RunResult, RunSpec
from llmops.errors import UsageError

if TYPE_CHECKING:
    from llmops.config.flow_base import Flow
    from llmops.llm.connections import Connection


@dataclass(frozen=True)
class LocalExecutor:
    """The Executor protocol (llmops/backends/protocols.py); flow snapshots and run locks live in `state_dir`."""

    state_dir: Path
    runs: RunRegistry

    def execute(self, specs: list[RunSpec], session: FlowSession, concurrency: int,
                progress: ProgressFactory | None = None, cancel: bool = False) -> list[RunResult]:
        if cancel:
            raise UsageError("--cancel: this env runs on the local backend, where no step keeps running after its "
                             "command ends; Ctrl-C stops a local run")
        return execute_all(self.state_dir, self.runs, specs, session, concurrency, progress)

    def try_line(self, flow: Flow, variant: dict[str, str], variant_label: str, inputs: dict[str, Any],
                 session: FlowSession) -> LineOutcome:
        configure_promptflow(self.state_dir)
        _, snapshot = materialize(flow.folder, self.state_dir / "snapshots")
        prepared = prepare(snapshot, flow.relative_file, variant)
        connections = session.pf_connections(flow.name, "flow-test", variant_label, prepared.connections)
        return prepared.runner(connections).run_line(0, inputs)

    def connections(self, names: list[str], provider: str, local: Mapping[str, Connection]) -> dict[str, Connection]:
        return dict(local)

    def publish_connections(self, connections: Mapping[str, Connection]) -> str:
        return f"prompt flow's local store in {sync_connections(connections, self.state_dir)}"
