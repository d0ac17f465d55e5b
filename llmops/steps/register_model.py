"""Step: register the env's standard flow as a model version (new only when the flow changed), with its lineage."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from llmops.backends import open_backend
from llmops.backends.protocols import Backend, Registry
from llmops.backends.shared_runs import seen_by
from llmops.backends.types import ModelVersion
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace
from llmops.git_state import git_state
from llmops.serving.variant_choice import VariantChoice, choose_variant

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegisterModelResult:
    model: ModelVersion
    choice: VariantChoice

    def to_dict(self) -> dict[str, Any]:
        return self.model.to_dict()


def model_name(use_case: str, env: str) -> str:
    return f"{use_case}_{env}"


def lineage(workspace: Workspace, registry: Registry, use_case: UseCase, env: str,
            choice: VariantChoice) -> dict[str, Any]:
    runs = registry.runs
    experiment_ids = runs.latest_run_set("experiment", use_case.name, env) or []
    evaluation_ids = runs.latest_run_set("evaluation", use_case.name, env) or []
    records = [seen_by(use_case, env, r, registry.data) for r in (runs.get_run(i) for i in experiment_ids)
               if r is not None]
    if not records:
        logger.warning("no experiment of %s in env %s yet: the model's lineage names no runs or data",
                       use_case.name, env)
    flow = use_case.standard_flow(env)
    return {
        "use_case": use_case.name,
        "env": env,
        "flow": flow.name,
        "flow_path": use_case.env(env).STANDARD_FLOW_PATH,
        "flow_file": flow.relative_file,  # the snapshot is the flow's folder: this is the flow in it (model_flow.py)
        "flow_variants": flow.variant_file_names(),
        "git": git_state(workspace.root, flow.folder),
        "data": [{"name": n, "version": v} for n, v in dict.fromkeys((r.dataset, r.dataset_version) for r in records)],
        "experiment_runs": experiment_ids,
        "evaluation_runs": evaluation_ids,
        "variant": choice.variant,
        "variant_label": choice.label,
        "variant_source": choice.source,
        "metrics": choice.metrics,
        "report": choice.report_folder,
    }


def register_model(workspace: Workspace, use_case: UseCase, env: str,
                   backend: Backend | None = None) -> RegisterModelResult:
    registry = (backend or open_backend(workspace, use_case, env)).registry
    flow = use_case.standard_flow(env)
    choice = choose_variant(workspace.reports_dir, use_case.name, env, flow)
    model = registry.models.register(model_name(use_case.name, env), flow.folder,
                                     lineage(workspace, registry, use_case, env, choice))
    logger.debug("model %s version %d (%s)", model.name, model.version, "new" if model.changed else "unchanged")
    return RegisterModelResult(model, choice)
