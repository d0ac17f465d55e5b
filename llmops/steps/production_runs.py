"""Step: run the model version that serves users on the env's own lines, and evaluate it, for gates against production.

Production's flow snapshot runs with the variant its deployment serves, over the same datasets, mapping and
evaluation flows as the candidate's experiment, so the report pairs them line by line. Runs are content-addressed
(flow snapshot, flow path, variant, data, mapping, LLM): when the production model ran on these lines before (its
own CI did, or an earlier pull request), those runs are reused and no line runs again. The runs are remembered
under a run set naming the release (ProductionRelease.run_set_kind), which the report step reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmops.backends import open_backend
from llmops.backends.production_release import ProductionRelease, find_release, production_backend
from llmops.backends.protocols import Backend
from llmops.backends.types import ProgressFactory, RunResult, RunSpec
from llmops.config.datasets import DatasetFile
from llmops.config.jsonl import read_objects
from llmops.config.mapping_config import RUN_OUTPUT_REF, map_inputs
from llmops.config.skipped_evaluations import skipped_evaluation
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError
from llmops.serving.model_flow import model_flow

if TYPE_CHECKING:
    from llmops.llm.session import LlmSession

EVALUATION_SUFFIX = ":evaluation"


@dataclass(frozen=True)
class ProductionRunsResult:
    release: ProductionRelease | None
    absent: str  # why nothing was run: nothing serves users yet
    runs: list[RunResult]


def run_production(workspace: Workspace, use_case: UseCase, env: str, session: LlmSession,
                   progress: ProgressFactory | None = None, backend: Backend | None = None) -> ProductionRunsResult:
    backend = backend or open_backend(workspace, use_case, env)
    release = find_release(use_case, env, production_backend(workspace, use_case, env, backend).registry)
    if isinstance(release, str):
        return ProductionRunsResult(None, release, [])
    flow = model_flow(release.model)
    registered_path = str(release.model.lineage.get("flow_path") or "")
    # The flow's path is part of a run's key (cassettes are found by it): the path it was registered from.
    flow_path = workspace.shown(use_case.path(registered_path)) if registered_path else workspace.shown(flow.path)
    _, mapping = use_case.experiment_mapping(env)
    specs, datasets = [], []
    for dataset in use_case.experiment_datasets(env):
        version = backend.registry.data.current_version(dataset.DATASET_NAME, use_case.path(dataset.DATA_PATH))
        if version is None:
            raise LlmopsError(f"dataset '{dataset.DATASET_NAME}' is not registered at its current content; run: "
                              f"llmops register-data --use-case {use_case.name} --env {env}")
        rows = read_objects(use_case.path(dataset.DATA_PATH), use_case.root)
        specs.append(RunSpec(
            use_case=use_case.name, env=env, kind="experiment", flow=flow, flow_path=flow_path,
            variant=release.deployment.variant, variant_label=release.deployment.variant_label,
            dataset=dataset.DATASET_NAME, dataset_version=version.version, data_sha256=version.sha256,
            mapping=mapping, rows=[(i, map_inputs(mapping, row)) for i, row in enumerate(rows)]))
        datasets.append(dataset)
    concurrency = use_case.env(env).CONCURRENCY
    runs = backend.executor.execute(specs, session, concurrency, progress)
    evaluation_specs = [spec for run, dataset in zip(runs, datasets, strict=True)
                        for spec in _evaluation_specs(workspace, use_case, env, backend, run, dataset)]
    evaluations = backend.executor.execute(evaluation_specs, session, concurrency, progress)
    registry = backend.registry.runs
    registry.record_run_set(release.run_set_kind, use_case.name, env, [r.record.run_id for r in runs])
    registry.record_run_set(release.run_set_kind + EVALUATION_SUFFIX, use_case.name, env,
                            [r.record.run_id for r in evaluations])
    return ProductionRunsResult(release, "", runs + evaluations)


def _evaluation_specs(workspace: Workspace, use_case: UseCase, env: str, backend: Backend, run: RunResult,
                      dataset: Any) -> list[RunSpec]:
    """The env's evaluation flows over production's run, as the evaluate step makes them for the candidate's."""
    eval_dataset = use_case.data.evaluation_dataset_for(dataset)
    version = backend.registry.data.current_version(eval_dataset.DATASET_NAME, use_case.path(eval_dataset.DATA_PATH))
    if version is None:
        raise LlmopsError(f"dataset '{eval_dataset.DATASET_NAME}' is not registered at its current content; run: "
                          f"llmops register-data --use-case {use_case.name} --env {env}")
    rows = read_objects(use_case.path(eval_dataset.DATA_PATH), use_case.root)
    columns = DatasetFile(use_case.path(eval_dataset.DATA_PATH), rows).columns
    lines = {line.index: line for line in backend.registry.runs.lines(run.record.run_id)}
    specs = []
    for flow in use_case.evaluation_flows(env):
        mapping = use_case.mapping.evaluation[flow.name]
        if skipped_evaluation(flow.name, env, mapping, dataset, eval_dataset, columns) is not None:
            continue
        needs_run = any(RUN_OUTPUT_REF.match(v) for v in mapping.values())
        mapped, skipped = [], {}
        for index, row in enumerate(rows):
            line = lines.get(index)
            if needs_run and (line is None or line.error):
                skipped[index] = "not evaluated: the experiment line failed"
                continue
            mapped.append((index, map_inputs(mapping, row, line.outputs if line else None)))
        specs.append(RunSpec(
            use_case=use_case.name, env=env, kind="evaluation", flow=flow, flow_path=workspace.shown(flow.path),
            variant=flow.default_variants(), variant_label=f"{run.record.variant_label}.{flow.name}",
            dataset=eval_dataset.DATASET_NAME, dataset_version=version.version, data_sha256=version.sha256,
            mapping=mapping, rows=mapped, parent_run_id=run.record.run_id, skipped=skipped))
    return specs
