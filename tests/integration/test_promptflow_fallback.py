"""With prompt flow's private scheduler made unavailable, the engine runs lines on the public line API alone: a
real experiment and its evaluation pass with the same results as on the pooled scheduler, and the log says once
that it is slower."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmops.backends.local.engine import promptflow_private
from tests.support.mini_use_case import write_use_case

pytestmark = pytest.mark.timeout(300)


def _run(root: Path) -> dict[tuple[str, str], Any]:
    """The PR experiment pipeline on the mini use case: each run's lines (outputs, errors) and metrics."""
    from llmops import Workspace, experiment_pipeline, load_use_case, open_session

    write_use_case(root)
    workspace = Workspace.find(root)
    use_case = load_use_case(workspace, "mini")
    flows = [use_case.standard_flow("pr"), *use_case.evaluation_flows("pr")]
    with open_session(workspace, use_case, "pr", flows, provider="simulated", environ={}) as session:
        result = experiment_pipeline(workspace, use_case, "pr", session)
    assert result.failure is None, result.failure
    runs = [*result.experiment.runs, *result.evaluation.runs]
    assert runs and not any(run.reused for run in runs)
    return {(run.record.kind, run.record.variant_label): (
        [(line.index, line.outputs, line.error) for line in sorted(run.lines, key=lambda line: line.index)],
        run.record.metrics) for run in runs}


@pytest.fixture()
def rechecked() -> Iterator[None]:
    promptflow_private.recheck()
    yield
    promptflow_private.recheck()


def test_without_the_private_scheduler_an_experiment_passes_with_the_same_results(
        tmp_path: Path, rechecked: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=promptflow_private.__name__):
        pooled = _run(tmp_path / "pooled")
        assert caplog.records == []

        import promptflow.executor._async_nodes_scheduler as scheduler

        monkeypatch.delattr(scheduler, "AsyncNodesScheduler")
        promptflow_private.recheck()
        public = _run(tmp_path / "public")

    assert public == pooled
    assert len(pooled) == 4  # 2 variants, each evaluated
    assert [m for _, m in pooled.values()] == [{}, {}, {"accuracy": 0.75}, {"accuracy": 0.75}]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1, warnings  # once, for 4 runs
    assert "AsyncNodesScheduler.__init__ is missing" in warnings[0]
    assert "lines run on prompt flow's public line API" in warnings[0]
