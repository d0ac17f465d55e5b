"""Step: run the standard flow on each experiment dataset once per variant combination."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmops.backends import open_backend
from llmops.backends.protocols import Backend, DataRegistry
from llmops.backends.types import DataVersion, ProgressFactory, RunResult, RunSpec
from llmops.config.flow_modules import require_flow_modules
from llmops.config.jsonl import read_objects
from llmops.config.mapping_config import map_inputs
from llmops.config.use_case import UseCase
from llmops.config.variants import DEFAULT_MAX_RUNS, enumerate_variants, label
from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError, StepFailed

if TYPE_CHECKING:
    from llmops.llm.session import LlmSession


@dataclass(frozen=True)
class ExperimentResult:
    runs: list[RunResult]
    threshold: float

    @property
    def failing_runs(self) -> list[RunResult]:
        return [r for r in self.runs if r.record.lines_total
                and r.record.lines_failed / r.record.lines_total > self.threshold]


def registered_version(data: DataRegistry, use_case: UseCase, dataset: Any) -> DataVersion:
    version = data.current_version(dataset.DATASET_NAME, use_case.path(dataset.DATA_PATH))
    if version is None:
        raise LlmopsError(
            f"dataset '{dataset.DATASET_NAME}' ({dataset.DATA_PATH}) is not registered at its current content; "
            f"run: llmops register-data --use-case {use_case.name} --env {dataset.ENV_NAME}"
        )
    return version


def read_rows(use_case: UseCase, dataset: Any) -> list[dict[str, Any]]:
    return read_objects(use_case.path(dataset.DATA_PATH), use_case.root)


def experiment(workspace: Workspace, use_case: UseCase, env: str, session: LlmSession, variants: str = "each",
               max_runs: int = DEFAULT_MAX_RUNS, progress: ProgressFactory | None = None,
               fail_on_failed_lines: bool = True, backend: Backend | None = None,
               cancel: bool = False) -> ExperimentResult:
    backend = backend or open_backend(workspace, use_case, env)
    env_config = use_case.env(env)
    flow = use_case.standard_flow(env)
    require_flow_modules(use_case, env, [flow])
    combos = enumerate_variants(flow, variants, max_runs)
    defaults = flow.default_variants()
    datasets = use_case.experiment_datasets(env)
    if not datasets:
        raise LlmopsError(f"env '{env}' of use case '{use_case.name}' has no pr_data, training_data or "
                          "post_production_eval_data dataset in configs/data_config.json")
    _, mapping = use_case.experiment_mapping(env)
    specs: list[RunSpec] = []
    for dataset in datasets:
        version = registered_version(backend.registry.data, use_case, dataset)
        rows = read_rows(use_case, dataset)
        mapped = [(i, map_inputs(mapping, row)) for i, row in enumerate(rows)]
        for combo in combos:
            for trial in range(env_config.TRIALS):  # trial 0 is the run a single-trial experiment makes
                spec = RunSpec(
                    use_case=use_case.name, env=env, kind="experiment", flow=flow,
                    flow_path=workspace.shown(flow.path), variant=combo,
                    variant_label=label(combo, defaults), dataset=dataset.DATASET_NAME,
                    dataset_version=version.version, data_sha256=version.sha256,
                    mapping=mapping, rows=mapped, trial=trial,
                )
                specs.append(spec)
    results = backend.executor.execute(specs, session, env_config.CONCURRENCY, progress, cancel=cancel)
    backend.registry.runs.record_run_set("experiment", use_case.name, env, [r.record.run_id for r in results])
    result = ExperimentResult(runs=results, threshold=env_config.FAILED_LINE_THRESHOLD)
    if fail_on_failed_lines and result.failing_runs:
        details = "; ".join(f"{r.record.name}: {r.record.lines_failed} of {r.record.lines_total} lines failed"
                            for r in result.failing_runs)
        raise StepFailed(f"runs over the failed-line threshold {result.threshold:.0%} "
                         f"(FAILED_LINE_THRESHOLD in llmops_config.json): {details}")
    return result
