"""A run shared by two envs whose data holds the same bytes is seen by each as its own dataset's run, at that
dataset's version in the env's own registry: the registry that ran it first may be another backend's."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from llmops.backends.local.registry.data import LocalDataRegistry
from llmops.backends.shared_runs import env_dataset, seen_by
from llmops.backends.types import COMPLETED, RunRecord
from llmops.config.use_case import UseCase, load_use_case
from llmops.config.workspace import Workspace
from tests.support.mini_use_case import write_use_case


@pytest.fixture
def use_case(tmp_path: Path) -> UseCase:
    folder = write_use_case(tmp_path)
    (folder / "data/dev.jsonl").write_bytes((folder / "data/pr.jsonl").read_bytes())  # one file's bytes, two envs
    return load_use_case(Workspace.find(tmp_path), "mini")


def run_of_pr(use_case: UseCase, kind: str = "experiment") -> RunRecord:
    sha256 = hashlib.sha256(use_case.path("data/pr.jsonl").read_bytes()).hexdigest()
    return RunRecord(run_id="r1", name="mini_pr_defaults_mini_pr_r1", use_case="mini", env="pr", kind=kind,
                     flow="standard", variant={}, variant_label="defaults", dataset="mini_pr", dataset_version=7,
                     parent_run_id=None, status=COMPLETED, lines_total=4, lines_failed=0, data_sha256=sha256)


def dev_registry(use_case: UseCase, state: Path) -> LocalDataRegistry:
    """dev's registry, which never saw mini_pr: its datasets at versions of their own."""
    registry = LocalDataRegistry(state)
    earlier = state / "earlier.jsonl"
    earlier.parent.mkdir(parents=True, exist_ok=True)
    earlier.write_text('{"url": "https://example.com/old", "answer": "None"}\n')
    registry.register("mini_dev", earlier, "", "data/dev.jsonl")  # dev's data before it became pr's bytes
    for name in ("mini_dev", "mini_dev_test"):
        registry.register(name, use_case.path("data/dev.jsonl"), "", "data/dev.jsonl")
    return registry


def test_an_experiment_run_of_pr_is_dev_training_data_at_devs_version(use_case: UseCase, tmp_path: Path) -> None:
    registry = dev_registry(use_case, tmp_path / "dev-state")

    seen = seen_by(use_case, "dev", run_of_pr(use_case), registry)

    assert (seen.dataset, seen.dataset_version) == ("mini_dev", 2)
    assert seen.run_id == "r1" and seen.name == "mini_pr_defaults_mini_pr_r1"


def test_an_evaluation_run_is_matched_among_the_test_datasets_only(use_case: UseCase, tmp_path: Path) -> None:
    registry = dev_registry(use_case, tmp_path / "dev-state")

    seen = seen_by(use_case, "dev", run_of_pr(use_case, kind="evaluation"), registry)

    assert (seen.dataset, seen.dataset_version) == ("mini_dev_test", 1)


def test_the_env_that_ran_it_sees_the_record_as_it_is(use_case: UseCase, tmp_path: Path) -> None:
    run = run_of_pr(use_case)

    assert seen_by(use_case, "pr", run, LocalDataRegistry(tmp_path / "empty")) == run


def test_an_env_without_those_bytes_registered_has_no_dataset_for_it(use_case: UseCase, tmp_path: Path) -> None:
    run = run_of_pr(use_case)
    unregistered = LocalDataRegistry(tmp_path / "empty")

    assert env_dataset(use_case, "dev", run, unregistered) is None
    assert seen_by(use_case, "dev", run, unregistered) == run
