"""Step: run the standard flow on one line and return its outputs (a quick check, nothing registered)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmops.backends import open_backend
from llmops.backends.protocols import Backend
from llmops.config.flow_modules import require_flow_modules
from llmops.config.use_case import UseCase
from llmops.config.variants import enumerate_variants, label
from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError

if TYPE_CHECKING:
    from llmops.llm.session import LlmSession


@dataclass(frozen=True)
class FlowTestResult:
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    variant: str
    error: str | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"inputs": self.inputs, "outputs": self.outputs, "variant": self.variant,
                "seconds": round(self.seconds, 2), "error": self.error}


def default_inputs(use_case: UseCase, env: str) -> dict[str, Any]:
    block = use_case.deployment.for_env("local", env)
    path = use_case.path(block.TEST_FILE_PATH if block else "sample-request.json")
    if not path.is_file():
        raise LlmopsError(f"no test inputs: '{path}' not found; pass --inputs '{{...}}'")
    value = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(value, dict):
        raise LlmopsError(f"{path}: expected a JSON object of flow inputs")
    return value


def flow_test(workspace: Workspace, use_case: UseCase, env: str, session: LlmSession,
              inputs: dict[str, Any] | None = None, variants: list[str] | None = None,
              backend: Backend | None = None) -> FlowTestResult:
    backend = backend or open_backend(workspace, use_case, env)
    flow = use_case.standard_flow(env)
    require_flow_modules(use_case, env, [flow])
    chosen = enumerate_variants(flow, ",".join(variants), max_runs=2)[-1] if variants else flow.default_variants()
    variant_label = label(chosen, flow.default_variants())
    line_inputs = inputs if inputs is not None else default_inputs(use_case, env)
    outcome = backend.executor.try_line(flow, chosen, variant_label, line_inputs, session)
    return FlowTestResult(line_inputs, outcome.outputs, variant_label, outcome.error, outcome.seconds)
