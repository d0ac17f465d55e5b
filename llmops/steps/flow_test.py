"""Step: run the standard flow on one line and return its outputs (a quick check, nothing registered)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from llmops.backends.local.engine.flow_runner import FlowRunner
from llmops.backends.local.engine.promptflow_env import configure_promptflow
from llmops.backends.local.engine.snapshot import materialize
from llmops.backends.local.engine.variants_dag import write_variant_dag
from llmops.config.use_case import UseCase
from llmops.config.variants import enumerate_variants, label
from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError


@dataclass(frozen=True)
class FlowTestResult:
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    variant: str
    error: str | None
    seconds: float


def default_inputs(use_case: UseCase, env: str) -> dict[str, Any]:
    block = use_case.deployment.for_env("local", env)
    path = use_case.path(block.TEST_FILE_PATH if block else "sample-request.json")
    if not path.is_file():
        raise LlmopsError(f"no test inputs: '{path}' not found; pass --inputs '{{...}}'")
    value = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(value, dict):
        raise LlmopsError(f"{path}: expected a JSON object of flow inputs")
    return value


def flow_test(workspace: Workspace, use_case: UseCase, env: str, session: Any,
              inputs: dict[str, Any] | None = None, variants: list[str] | None = None) -> FlowTestResult:
    flow = use_case.standard_flow(env)
    chosen = enumerate_variants(flow, ",".join(variants), max_runs=2)[-1] if variants else flow.default_variants()
    configure_promptflow(workspace.state_dir)
    _, snapshot = materialize(flow.folder, workspace.state_dir / "snapshots")
    dag_name, node_connections = write_variant_dag(snapshot, flow.file, chosen)
    variant_label = label(chosen, flow.default_variants())
    connections = session.pf_connections(flow.name, "flow-test", variant_label, node_connections)
    line_inputs = inputs if inputs is not None else default_inputs(use_case, env)
    started = time.perf_counter()
    outcome = FlowRunner(snapshot, dag_name, connections).run_line(0, line_inputs)
    return FlowTestResult(line_inputs, outcome.outputs, variant_label, outcome.error, time.perf_counter() - started)
