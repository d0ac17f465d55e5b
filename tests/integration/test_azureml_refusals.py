"""What an azureml env refuses before submitting a job, and --cancel where nothing runs in the background: one
line each, naming the key or the fix, and no job in the workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.azureml_emulator import AzureMLEmulator
from tests.support.azureml_emulator.product import ENV, use_environment
from tests.support.azureml_steps import DATASETS
from tests.support.cli import llmops
from tests.support.llm_use_case import write_llm_use_case
from tests.support.loopback_upstream import LoopbackUpstream
from tests.support.mini_use_case import edit_json, write_use_case

pytest_plugins = ["tests.support.azureml_emulator.fixtures"]
pytestmark = pytest.mark.timeout(300)
KEY = "use_cases/mini/llmops_config.json: envs[2]"


def _llm_use_case_on_azure(root: Path, emulator: AzureMLEmulator, **keys: str) -> None:
    with LoopbackUpstream() as upstream:
        folder = write_llm_use_case(root, upstream)
    (root / ".env").unlink()
    scope = emulator.scope
    env = {"ENV_NAME": ENV, "BACKEND": "azureml", "STANDARD_FLOW_PATH": "flows/standard",
           "RESOURCE_GROUP_NAME": scope.resource_group, "WORKSPACE_NAME": scope.workspace, **keys}
    edit_json(folder / "llmops_config.json", lambda config: config["envs"].append(env))
    edit_json(folder / "configs/data_config.json", lambda config: config["datasets"].extend(DATASETS))


@pytest.mark.parametrize(("provider", "keys", "message"), [
    ("auto", {}, "error: connection(s) aoai would use the embedded model, which does not run on Azure ML nodes: "
                 "store each connection in key vault '<KEYVAULT_NAME>' as secret llmops-connection-aoai (the JSON of "
                 f"its .env line; {KEY}.KEYVAULT_NAME names the vault), or run with --provider replay"),
    ("azure_openai", {}, f"error: {KEY}.KEYVAULT_NAME: empty, but --provider azure_openai needs keys, which Azure ML "
                         "nodes read from Key Vault; set it to your key vault's name"),
    ("azure_openai", {"KEYVAULT_NAME": "llmops-kv"},
     "error: key vault 'llmops-kv' has no secret 'llmops-connection-aoai' for connection 'aoai', which Azure ML "
     "nodes read its key from: az keyvault secret set --vault-name llmops-kv --name llmops-connection-aoai --value "
     "'<the JSON of its .env line>', or run with --provider replay"),
])
def test_what_a_node_could_not_run_is_refused_before_any_job(azureml_emulator, tmp_path, monkeypatch, provider, keys,
                                                             message):
    _llm_use_case_on_azure(tmp_path, azureml_emulator, **keys)
    use_environment(monkeypatch, azureml_emulator)
    done = llmops(tmp_path, "run", "-u", "mini", "-e", ENV, "--provider", provider)
    assert done.code == 1, done.err[-2000:]
    assert done.err.rstrip().splitlines()[-1] == message
    assert not [r for r in azureml_emulator.requests if r.method == "PUT" and "/jobs/" in r.path]


def test_cancel_on_a_local_env_is_a_usage_error(tmp_path):
    write_use_case(tmp_path)
    done = llmops(tmp_path, "run", "-u", "mini", "-e", "pr", "--cancel")
    assert done.code == 2
    assert done.err.rstrip().splitlines()[-1] == (
        "error: --cancel: this env runs on the local backend, where no step keeps running after its command ends; "
        "Ctrl-C stops a local run")
