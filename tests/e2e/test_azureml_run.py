"""`llmops run` on an azureml env against the emulator, as a new user runs it: the real CLI in a subprocess,
web_classification with its recorded answers, each step one Azure ML job sharded over two nodes. The same
run on the local backend gives the same per-line results and metrics; run again, or from a fresh runner with
no state, it submits no job; the local env over the same data reuses the jobs' runs."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.azureml_emulator import AzureMLEmulator
from tests.support.azureml_emulator.product import ENV, clean_environment, llmops_environment, use_environment
from tests.support.mini_use_case import edit_json
from tests.support.repo_copy import REPO, copy_use_case

pytest_plugins = ["tests.support.azureml_emulator.fixtures"]
pytestmark = pytest.mark.timeout(900)
USE_CASE = "web_classification"
# Run ids, and the calls' latencies, which are measured, not computed: the rest must be equal.
NOT_COMPARED = ("run_id", "eval_run_id", "run_name", "p50_latency_ms", "p95_latency_ms")


def copy_with_azure_env(root: Path, emulator: AzureMLEmulator, backend: str, **keys: object) -> Path:
    """web_classification with an env `azure` like its `pr` env (and pr's data), on `backend`."""
    folder = copy_use_case(root, USE_CASE)
    scope = emulator.scope

    def add_env(config: dict) -> None:
        pr = next(env for env in config["envs"] if env["ENV_NAME"] == "pr")
        config["envs"].append({**pr, "ENV_NAME": ENV, "BACKEND": backend, "RESOURCE_GROUP_NAME": scope.resource_group,
                               "WORKSPACE_NAME": scope.workspace, **keys})

    def add_data(config: dict) -> None:
        config["datasets"] += [{**d, "ENV_NAME": ENV, "DATASET_NAME": d["DATASET_NAME"].replace("_pr", "_azure"),
                                "RELATED_EXP_DATASET": d["RELATED_EXP_DATASET"].replace("_pr", "_azure")}
                               for d in config["datasets"] if d["ENV_NAME"] == "pr"]

    edit_json(folder / "llmops_config.json", add_env)
    edit_json(folder / "configs/data_config.json", add_data)
    return folder


def llmops_process(root: Path, emulator: AzureMLEmulator, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # A process with the environment a new user's shell exports: the end-to-end run this test is.
    environment = {**clean_environment(), **llmops_environment(emulator), "PYTHONPATH": str(REPO),
                   "LLMOPS_OFFLINE": "1", **env}
    return subprocess.run([sys.executable, "-m", "llmops", "--root", str(root), *args], env=environment,
                          capture_output=True, text=True, timeout=600)


def table(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return [{k: v for k, v in row.items() if k not in NOT_COMPARED} for row in csv.DictReader(handle)]


def submitted_jobs(emulator: AzureMLEmulator) -> list[str]:
    return [r.path.rsplit("/", 1)[-1] for r in emulator.requests if r.method == "PUT" and "/jobs/" in r.path
            and r.status == 201]


def job_puts(emulator: AzureMLEmulator) -> int:
    return sum(1 for r in emulator.requests if r.method == "PUT" and "/jobs/" in r.path)


def test_run_on_azureml_gives_the_local_results_and_reruns_submit_nothing(azureml_emulator, monkeypatch, tmp_path):
    use_environment(monkeypatch, azureml_emulator, LLMOPS_OFFLINE="1")  # the emulator's nodes inherit it
    run = ["run", "-u", USE_CASE, "-e", ENV, "--provider", "replay"]
    local_root, azure_root = tmp_path / "local", tmp_path / "azure"
    copy_with_azure_env(local_root, azureml_emulator, "local")
    copy_with_azure_env(azure_root, azureml_emulator, "azureml", INSTANCE_COUNT=2)

    local = llmops_process(local_root, azureml_emulator, *run)
    assert local.returncode == 0, local.stderr[-3000:]
    first = llmops_process(azure_root, azureml_emulator, *run)
    assert first.returncode == 0, first.stderr[-3000:]
    print(first.stdout, first.stderr, sep="\n")  # shown with -s: what a user sees

    reports = "reports/web_classification/azure/latest"
    for name in ("results.csv", "metrics.csv"):
        assert table(azure_root / reports / name) == table(local_root / reports / name), name
    assert "gate accuracy >= 0.6 on defaults: 1.0 -> pass" in first.stdout
    # The nodes' calls count as the command's own: 10 lines x 2 calls x 3 variants, replayed there.
    assert "LLM calls: 0 sent to the model, 0 answered from the cache, 60 replayed\n" in local.stdout
    assert "LLM calls: 0 sent to the model, 0 answered from the cache, 60 replayed (60 of them on Azure ML nodes)" \
        in first.stdout
    jobs = submitted_jobs(azureml_emulator)
    assert [job.rsplit("-", 2)[0] for job in jobs] == ["web_classification-experiment",
                                                        "web_classification-evaluation"]
    for job in jobs:
        assert azureml_emulator.jobs.parallel_reports[job]["run_lines"].nodes_used == {0, 1}
        assert f"submitted Azure ML job {job}: " in first.stderr and f"https://ml.azure.com/runs/{job}?" in first.stderr

    puts = job_puts(azureml_emulator)
    again = llmops_process(azure_root, azureml_emulator, *run)
    fresh = llmops_process(azure_root, azureml_emulator, *run, LLMOPS_STATE_DIR=str(tmp_path / "fresh-runner"))
    print(again.stdout, again.stderr, fresh.stderr, sep="\n")
    assert again.returncode == 0 and fresh.returncode == 0, fresh.stderr[-3000:]
    assert job_puts(azureml_emulator) == puts  # nothing submitted, nothing changed
    assert "submitted" not in again.stderr + fresh.stderr
    assert "LLM calls: 0 sent to the model, 0 answered from the cache, 0 replayed\n" in again.stdout
    assert again.stdout.count("(reused)") == fresh.stdout.count("(reused)") == 9  # 3 variants, 3 flows each
    assert table(azure_root / reports / "results.csv") == table(local_root / reports / "results.csv")

    # Runs are content-addressed: the local pr env reads the same data file and reuses what the jobs ran, though
    # the runs' records name the azure env's datasets, registered in Azure ML, not in the local registry.
    local_pr = llmops_process(azure_root, azureml_emulator, "run", "-u", USE_CASE, "-e", "pr", "--provider", "replay")
    assert local_pr.returncode == 0, local_pr.stderr[-3000:]
    assert local_pr.stdout.count("(reused)") == 9
    pr_rows = table(azure_root / "reports/web_classification/pr/latest/results.csv")
    assert {(row["dataset"], row["dataset_version"]) for row in pr_rows} == {("web_classification_pr", "1")}
    assert [{**row, "dataset": "web_classification_azure"} for row in pr_rows] == table(
        local_root / reports / "results.csv")
