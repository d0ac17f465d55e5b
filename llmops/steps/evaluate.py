"""Step: run every evaluation flow of the env on every run of the latest experiment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmops.backends import open_backend
from llmops.backends.protocols import Backend, DataRegistry
from llmops.backends.shared_runs import env_dataset
from llmops.backends.types import ProgressFactory, RunRecord, RunResult, RunSpec
from llmops.config.data_config import Dataset
from llmops.config.datasets import DatasetFile
from llmops.config.flow_modules import require_flow_modules
from llmops.config.jsonl import read_objects
from llmops.config.mapping_config import RUN_OUTPUT_REF, map_inputs
from llmops.config.skipped_evaluations import SkippedEvaluation, skipped_evaluation
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace
from llmops.errors import ConfigError, LlmopsError

if TYPE_CHECKING:
    from llmops.llm.session import LlmSession


@dataclass(frozen=True)
class EvaluationResult:
    runs: list[RunResult]
    skipped: list[SkippedEvaluation]  # evaluations the env's data cannot feed (no test dataset linked)


def _check_mappings(use_case: UseCase, env: str) -> None:
    """Fail before any run starts when a mapping does not fit (validate checks the same, more broadly)."""
    from llmops.config.validate import check_use_case

    problems = [p for p in check_use_case(use_case) if "mapping_config.json" in p.file]
    if problems:
        raise ConfigError(problems)


def _experiment_dataset(use_case: UseCase, env: str, run: RunRecord, data: DataRegistry) -> Dataset:
    """The env's dataset a run of its latest experiment ran over, which another env may have run (shared_runs)."""
    found = env_dataset(use_case, env, run, data)
    if found is None:
        raise LlmopsError(f"dataset '{run.dataset}' of run {run.name} is no longer an experiment dataset of env "
                          f"'{env}' in data_config.json; run the experiment again")
    return found[0]


def evaluate(workspace: Workspace, use_case: UseCase, env: str, session: LlmSession,
             progress: ProgressFactory | None = None, backend: Backend | None = None,
             cancel: bool = False) -> EvaluationResult:
    backend = backend or open_backend(workspace, use_case, env)
    runs, data = backend.registry.runs, backend.registry.data
    env_config = use_case.env(env)
    flows = use_case.evaluation_flows(env)
    _check_mappings(use_case, env)
    require_flow_modules(use_case, env, flows)
    run_ids = runs.latest_run_set("experiment", use_case.name, env)
    if not run_ids:
        raise LlmopsError(f"no experiment of '{use_case.name}' in env '{env}' yet; run: llmops experiment "
                          f"--use-case {use_case.name} --env {env}")
    specs: list[RunSpec] = []
    skipped_flows: list[SkippedEvaluation] = []
    for run_id in run_ids:
        parent = runs.get_run(run_id)
        if parent is None:
            raise LlmopsError(f"run '{run_id}' of the latest experiment is missing from the registry; "
                              "run the experiment again")
        parent_lines = {line.index: line for line in runs.lines(run_id)}
        exp_dataset = _experiment_dataset(use_case, env, parent, data)
        eval_dataset = use_case.data.evaluation_dataset_for(exp_dataset)
        version = data.current_version(eval_dataset.DATASET_NAME, use_case.path(eval_dataset.DATA_PATH))
        if version is None:
            raise LlmopsError(f"dataset '{eval_dataset.DATASET_NAME}' is not registered at its current content; "
                              f"run: llmops register-data --use-case {use_case.name} --env {env}")
        rows = read_objects(use_case.path(eval_dataset.DATA_PATH), use_case.root)
        columns = DatasetFile(use_case.path(eval_dataset.DATA_PATH), rows).columns
        for flow in flows:
            mapping = use_case.mapping.evaluation[flow.name]
            skip = skipped_evaluation(flow.name, env, mapping, exp_dataset, eval_dataset, columns)
            if skip is not None:
                if skip not in skipped_flows:  # once for all the variants' runs over that dataset
                    skipped_flows.append(skip)
                continue
            mapped: list[tuple[int, dict[str, Any]]] = []
            skipped: dict[int, str] = {}
            for index, row in enumerate(rows):
                line = parent_lines.get(index)
                needs_run = any(RUN_OUTPUT_REF.match(v) for v in mapping.values())
                if needs_run and (line is None or line.error):
                    skipped[index] = "not evaluated: the experiment line failed"
                    continue
                mapped.append((index, map_inputs(mapping, row, line.outputs if line else None)))
            spec = RunSpec(
                use_case=use_case.name, env=env, kind="evaluation", flow=flow,
                flow_path=workspace.shown(flow.path), variant=flow.default_variants(),
                variant_label=f"{parent.variant_label}.{flow.name}", dataset=eval_dataset.DATASET_NAME,
                dataset_version=version.version, data_sha256=version.sha256, mapping=mapping, rows=mapped,
                parent_run_id=run_id, skipped=skipped, trial=parent.trial,
            )
            specs.append(spec)
    results = backend.executor.execute(specs, session, env_config.CONCURRENCY, progress, cancel=cancel)
    runs.record_run_set("evaluation", use_case.name, env, [r.record.run_id for r in results])
    return EvaluationResult(runs=results, skipped=skipped_flows)
