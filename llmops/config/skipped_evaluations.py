"""Evaluations an env skips: those whose data has no column their mapping reads, and no test dataset linked.

The original template evaluates only where a test dataset is linked; its PR data often has no ground
truth (math_coding's pr data has no `groundtruth`). So when an evaluation flow's mapping reads a
`${data.<column>}` that the env's experiment data lacks on every line, and no test_data dataset is linked
to that data by RELATED_EXP_DATASET, the evaluation is skipped for that env: a note from `validate`, one
line from `run`, and a gate on its metric fails naming it. A linked test dataset that lacks the column
stays an error: it exists to be evaluated against.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from llmops.config.data_config import Dataset
from llmops.config.datasets import DatasetFile
from llmops.config.jsonl import read_objects
from llmops.config.mapping_config import DATA_REF
from llmops.config.use_case import UseCase


@dataclass(frozen=True)
class SkippedEvaluation:
    flow: str  # the evaluation flow's folder name
    env: str
    dataset: str  # the experiment dataset, which is also the one evaluated against
    column: str  # the first mapped column it lacks

    def __str__(self) -> str:
        return (f"evaluation '{self.flow}' skipped for env '{self.env}': dataset '{self.dataset}' has no column "
                f"'{self.column}' (mapped as ${{data.{self.column}}}); link a test_data dataset with "
                "RELATED_EXP_DATASET to evaluate")


def skipped_evaluation(flow: str, env: str, mapping: Mapping[str, str], experiment_dataset: Dataset,
                       evaluation_dataset: Dataset, columns: set[str]) -> SkippedEvaluation | None:
    """Why `flow` does not evaluate the runs over `experiment_dataset`, or None when it does.

    `columns`: those of the evaluation dataset (any line having one counts)."""
    if evaluation_dataset.DATASET_NAME != experiment_dataset.DATASET_NAME:
        return None  # a linked test dataset: a column it lacks is a config error, not a skip
    for reference in mapping.values():
        match = DATA_REF.match(reference)
        if match and match.group(1) not in columns:
            return SkippedEvaluation(flow, env, experiment_dataset.DATASET_NAME, match.group(1))
    return None


def skipped_evaluations(use_case: UseCase, env: str,
                        columns_of: Callable[[Dataset], set[str] | None] | None = None) -> list[SkippedEvaluation]:
    """Every evaluation the env skips, once per evaluation flow and dataset.

    `columns_of` gives a dataset's columns (None when its file cannot be read: that is reported elsewhere);
    by default the file is read."""
    columns_of = columns_of or (lambda dataset: dataset_columns(use_case, dataset))
    skipped = []
    for path in use_case.env(env).evaluation_flow_paths:
        flow = Path(path).name
        mapping = use_case.mapping.evaluation.get(flow)
        if mapping is None:
            continue
        for dataset in use_case.experiment_datasets(env):
            evaluation_dataset = use_case.data.evaluation_dataset_for(dataset)
            columns = columns_of(evaluation_dataset)
            if columns is None:
                continue
            found = skipped_evaluation(flow, env, mapping, dataset, evaluation_dataset, columns)
            if found is not None and found not in skipped:
                skipped.append(found)
    return skipped


def dataset_columns(use_case: UseCase, dataset: Dataset) -> set[str] | None:
    """The columns of a dataset's file (any line having one counts); None when there is no file."""
    path = use_case.path(dataset.DATA_PATH)
    return DatasetFile(path, read_objects(path, use_case.root)).columns if path.is_file() else None
