"""A key planted in Key Vault reaches the LLM upstream from the Azure ML nodes and nothing else: not the job's
definition as the workspace stores it, not a node's log or output, not a blob, not the state, the report or
a cassette, not the CLI's output. The nodes read it through the compute's identity (the emulator's managed
identity, which its node processes inherit), as the laptop does through its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.azureml_emulator import AzureMLEmulator
from tests.support.azureml_emulator.blob_storage import ARTIFACT_CONTAINER
from tests.support.azureml_emulator.product import ENV, clean_environment, llmops_environment, use_environment
from tests.support.azureml_emulator.rest_models import to_json
from tests.support.azureml_steps import DATASETS
from tests.support.llm_use_case import write_llm_use_case
from tests.support.loopback_upstream import LoopbackUpstream
from tests.support.mini_use_case import edit_json
from tests.support.repo_copy import REPO

pytest_plugins = ["tests.support.azureml_emulator.fixtures"]
pytestmark = pytest.mark.timeout(600)
PLANTED = "planted-vault-key-not-real-0123456789-XYZ"


def _azure_env(emulator: AzureMLEmulator) -> dict:
    scope = emulator.scope
    return {"ENV_NAME": ENV, "BACKEND": "azureml", "STANDARD_FLOW_PATH": "flows/standard",
            "EVALUATION_FLOW_PATH": "flows/eval", "RESOURCE_GROUP_NAME": scope.resource_group,
            "WORKSPACE_NAME": scope.workspace, "KEYVAULT_NAME": scope.key_vault, "INSTANCE_COUNT": 2}


def _blobs(emulator: AzureMLEmulator) -> dict[str, bytes]:
    storage = emulator.context.storage
    found = {}
    for container in (storage.container, ARTIFACT_CONTAINER):
        client = storage.container_client(container)
        found.update({f"{container}/{b.name}": client.download_blob(b.name).readall() for b in client.list_blobs()})
    return found


def test_a_key_in_key_vault_reaches_the_upstream_from_the_nodes_and_nothing_else(azureml_emulator, monkeypatch,
                                                                                 tmp_path: Path):
    use_environment(monkeypatch, azureml_emulator)  # the nodes' identity: the emulator's managed identity
    with LoopbackUpstream() as upstream:
        folder = write_llm_use_case(tmp_path, upstream)
        (tmp_path / ".env").unlink()  # the key is in Key Vault only
        edit_json(folder / "llmops_config.json", lambda config: config["envs"].append(_azure_env(azureml_emulator)))
        edit_json(folder / "configs/data_config.json", lambda config: config["datasets"].extend(DATASETS))
        connection = {"api_key": PLANTED, "api_type": "openai", "base_url": upstream.openai_base}
        azureml_emulator.key_vault.set_secret("llmops-connection-aoai", json.dumps(connection))
        # A process: everything it prints, prompt flow's own logs included, is searched for the key.
        run = subprocess.run(
            [sys.executable, "-m", "llmops", "--root", str(tmp_path), "-v", "run", "-u", "mini", "-e", ENV,
             "--provider", "openai_compatible"],
            env={**clean_environment(), **llmops_environment(azureml_emulator), "PYTHONPATH": str(REPO)},
            capture_output=True, text=True, timeout=500)
        received = list(upstream.requests)

    assert run.returncode in (0, 1, 3), run.stderr[-3000:]  # the upstream's answers may fail lines and the gate
    assert "submitted Azure ML job mini-experiment-" in run.stderr
    assert received and all(r.headers.get("authorization") == f"Bearer {PLANTED}" for r in received)
    assert "llmops-connection-aoai" in run.stderr  # said where the key came from, never what it is
    secret = PLANTED.encode()
    assert secret not in (run.stdout + run.stderr).encode()
    # Every resource the workspace holds, as the service would answer it: the jobs' REST bodies, their components,
    # code and environment.
    workspace_resources = to_json(list(azureml_emulator.store._items.values()))
    assert b"parallel_run_step" in workspace_resources or b"run_lines" in workspace_resources
    assert secret not in workspace_resources
    node_files = [p for job in azureml_emulator.jobs.parallel_reports
                  for p in azureml_emulator.jobs.folder(job).rglob("*") if p.is_file()]
    assert any(p.name == "process000.stdout.txt" for p in node_files)  # the node logs that were searched exist
    assert [p for p in node_files if secret in p.read_bytes()] == []
    assert [name for name, data in _blobs(azureml_emulator).items() if secret in data] == []
    local_files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert (tmp_path / "reports/mini/azure/latest/results.csv").is_file()
    assert [p for p in local_files if secret in p.read_bytes()] == []
