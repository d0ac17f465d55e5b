"""Steps on an azureml env against the emulator: each step is one pipeline job whose parallel node runs the
lines on several node processes with the llmops engine, and what comes back is what a local run gives.
The real azure-ai-ml client throughout; the emulator runs the nodes for real."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from llmops.backends.local import LocalBackend
from llmops.backends.local.engine.executor import LocalExecutor
from tests.support.azureml_emulator import AzureMLEmulator
from tests.support.azureml_emulator.blob_storage import BlobLocation
from tests.support.azureml_emulator.product import use_environment
from tests.support.azureml_steps import AzureSteps, azure_mini_use_case

pytest_plugins = ["tests.support.azureml_emulator.fixtures"]
pytestmark = pytest.mark.timeout(600)


def _job_puts(emulator: AzureMLEmulator, status: int | None = None) -> list[str]:
    """The jobs PUT (submitted: 201; tags changed: 200), in order."""
    return [r.path.rsplit("/", 1)[-1] for r in emulator.requests
            if r.method == "PUT" and "/jobs/" in r.path and status in (None, r.status)]


def _submitted(emulator: AzureMLEmulator) -> list[str]:
    return _job_puts(emulator, 201)


def _lines(results: list[Any]) -> dict[tuple[str, str], list[tuple[int, Any, Any]]]:
    return {(r.record.kind, r.record.variant_label): [(o.index, o.outputs, o.error) for o in r.lines] for r in results}


def _metrics(results: list[Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r.record.kind, r.record.variant_label): r.record.metrics for r in results}


def _rows(emulator: AzureMLEmulator, job: str) -> list[dict[str, Any]]:
    storage = emulator.context.storage
    location = BlobLocation(storage.container, f"azureml/{job}/results")
    client = storage.container_client(location.container)
    text = "".join(client.download_blob(b.name).readall().decode()
                   for b in client.list_blobs(name_starts_with=location.prefix))
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def variables(azureml_emulator: AzureMLEmulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The Azure variables a CI job exports, set in this process too: the emulator's nodes inherit them."""
    return use_environment(monkeypatch, azureml_emulator)


def test_a_step_is_one_job_sharded_over_two_nodes_with_the_local_results(azureml_emulator, variables, tmp_path):
    azure_mini_use_case(tmp_path, azureml_emulator, INSTANCE_COUNT=2)
    on_azure = AzureSteps(tmp_path, variables)
    exp, ev = on_azure.experiment_and_evaluation()

    here = AzureSteps(tmp_path, variables, state_dir=tmp_path / "local-state")
    registry = here.backend.registry  # the Azure ML data assets; the lines run here
    here.backend = LocalBackend(registry, LocalExecutor(here.workspace.state_dir, registry.runs))
    local_exp, local_ev = here.experiment_and_evaluation()
    assert _lines(exp.runs + ev.runs) == _lines(local_exp.runs + local_ev.runs)
    assert _metrics(ev.runs) == _metrics(local_ev.runs) and all(r.record.metrics for r in ev.runs)

    jobs = _submitted(azureml_emulator)
    assert [job.rsplit("-", 2)[0] for job in jobs] == ["mini-experiment", "mini-evaluation"]
    assert _job_puts(azureml_emulator, 200) == jobs  # then their runs' metrics as tags
    for job in jobs:
        assert azureml_emulator.jobs.parallel_reports[job]["run_lines"].nodes_used == {0, 1}
        rows = _rows(azureml_emulator, job)
        assert len(rows) == len({(row["run"], row["index"]) for row in rows}) == 2 * 12  # 2 runs x 12 lines, once
    assert all(r.executed_lines == 12 and not r.reused for r in exp.runs + ev.runs)


def test_an_unchanged_step_submits_no_job_and_a_fresh_runner_merges_the_earlier_jobs(azureml_emulator, variables,
                                                                                   tmp_path):
    azure_mini_use_case(tmp_path, azureml_emulator)
    exp, ev = AzureSteps(tmp_path, variables).experiment_and_evaluation()
    submitted = _job_puts(azureml_emulator)
    assert len(_submitted(azureml_emulator)) == 2

    again, again_ev = AzureSteps(tmp_path, variables).experiment_and_evaluation()
    fresh, fresh_ev = AzureSteps(tmp_path, variables, state_dir=tmp_path / "fresh-runner").experiment_and_evaluation()
    assert _job_puts(azureml_emulator) == submitted  # no job submitted, none tagged again
    for results in (again.runs + again_ev.runs, fresh.runs + fresh_ev.runs):
        assert _lines(results) == _lines(exp.runs + ev.runs) and _metrics(results) == _metrics(exp.runs + ev.runs)
        assert all(r.reused for r in results)


def test_a_node_killed_mid_job_loses_no_line_and_runs_none_twice(azureml_emulator, variables, tmp_path):
    azure_mini_use_case(tmp_path, azureml_emulator, INSTANCE_COUNT=2)
    azureml_emulator.faults.kill_node(mini_batch=2)
    exp, _ = AzureSteps(tmp_path, variables).experiment_and_evaluation()

    job = _submitted(azureml_emulator)[0]
    attempts = azureml_emulator.jobs.parallel_reports[job]["run_lines"].attempts
    assert [a.outcome for a in attempts if a.mini_batch == 2] == ["died", "completed"]
    rows = Counter((row["run"], row["index"]) for row in _rows(azureml_emulator, job))
    assert len(rows) == 2 * 12 and set(rows.values()) == {1}
    assert all(r.record.status == "completed" and r.record.lines_failed == 0 for r in exp.runs)


def test_the_job_runs_the_pinned_environment_and_carries_the_runs_in_its_tags(azureml_emulator, variables,
                                                                             tmp_path: Path):
    azure_mini_use_case(tmp_path, azureml_emulator)
    exp, _ = AzureSteps(tmp_path, variables).experiment_and_evaluation()

    job = azureml_emulator.store.get("jobs", _submitted(azureml_emulator)[0]).properties
    tags = job["tags"]
    assert {tags["llmops.use_case"], tags["llmops.env"], tags["llmops.step"]} == {"mini", "azure", "experiment"}
    assert tags["llmops.variants"] == "classify.variant_1, defaults"
    assert tags["llmops.datasets"] == "mini_azure:1"
    assert {k.removeprefix("llmops.run.") for k in tags if k.startswith("llmops.run.")} == {
        r.record.run_id for r in exp.runs}
    environment = next(v for v in azureml_emulator.store.children("environments", "CliV2AnonymousEnvironment",
                                                                   "versions"))
    assert environment.properties["image"] == "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20241202.v1"
    assert "promptflow==1.18.5" in environment.properties["condaFile"]
    assert "azure-ai-ml" not in environment.properties["condaFile"]  # the node never submits jobs
