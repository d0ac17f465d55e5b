"""A run shared by envs, seen from one of them.

Runs are content-addressed, so envs whose data holds the same bytes share them: the original template's
pr and dev read one file, and a team moving an env to Azure ML copies it. The run's record names the
dataset of the env that ran it first, perhaps registered in another backend; each env evaluates, reports
and registers it as its own dataset holding those bytes, at that dataset's version in its own registry.
"""

from __future__ import annotations

from dataclasses import replace

from llmops.backends.protocols import DataRegistry
from llmops.backends.types import RunRecord
from llmops.config.data_config import Dataset
from llmops.config.use_case import UseCase


def _candidates(use_case: UseCase, env: str, kind: str) -> list[Dataset]:
    # By kind, since an env's experiment and test datasets often read one file: pr's do.
    experiment = use_case.experiment_datasets(env)
    if kind == "experiment":
        return experiment
    if kind == "evaluation":
        return [use_case.data.evaluation_dataset_for(d) for d in experiment]
    return []


def env_dataset(use_case: UseCase, env: str, run: RunRecord, data: DataRegistry) -> tuple[Dataset, int] | None:
    """The env's dataset the run ran over (named by the run, or holding its bytes) and its version here."""
    datasets = _candidates(use_case, env, run.kind)
    named = next((d for d in datasets if d.DATASET_NAME == run.dataset), None)
    if named is not None:
        return named, run.dataset_version
    for dataset in datasets:
        version = data.current_version(dataset.DATASET_NAME, use_case.path(dataset.DATA_PATH))
        if version is not None and version.sha256 == run.data_sha256:
            return dataset, version.version
    return None


def seen_by(use_case: UseCase, env: str, run: RunRecord, data: DataRegistry) -> RunRecord:
    """The run with the env's own dataset and version, when the env has one holding its bytes."""
    if run.env == env:
        return run
    found = env_dataset(use_case, env, run, data)
    if found is None:
        return run
    dataset, version = found
    return replace(run, dataset=dataset.DATASET_NAME, dataset_version=version)
