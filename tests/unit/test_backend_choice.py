"""open_backend: the env's BACKEND picks the backend. An azureml env opens the Azure ML backend from the Azure
variables the CLI edge reads; without a subscription every command that would reach a backend stops with the
settings' error, before it writes any state or opens an LLM session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llmops.backends import open_backend
from llmops.backends.azureml.settings import AzureVariables
from llmops.cli.main import main
from llmops.config.use_case import load_use_case
from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError
from tests.support.azureml_emulator.product import clean_environment
from tests.support.mini_use_case import edit_json, write_use_case

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
NO_SUBSCRIPTION = ("error: AZURE_SUBSCRIPTION_ID is not set: put it in .env or the environment (az account show "
                   "--query id -o tsv)\n")
RUNTIME_NOTICE = ("note: use_cases/mini/llmops_config.json: envs[1].RUNTIME_NAME: 'my-runtime' is ignored: prompt "
                  "flow runtimes retire with prompt flow on 2027-04-20; llmops runs its own engine in Azure ML jobs: "
                  "remove RUNTIME_NAME and set COMPUTE_NAME or INSTANCE_TYPE\n")


@pytest.fixture(autouse=True)
def no_azure_login(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever Azure variables the developer's shell carries, these tests see none."""
    kept = clean_environment()
    for name in os.environ:
        if name not in kept:
            monkeypatch.delenv(name)


def _on_azureml(root: Path, **keys: str) -> Workspace:
    folder = write_use_case(root)
    env = {"BACKEND": "azureml", "RESOURCE_GROUP_NAME": "llmops-rg", "WORKSPACE_NAME": "llmops-ws",
           "POST_PROD_EVALUATION_FLOW_PATH": "flows/eval", **keys}
    edit_json(folder / "llmops_config.json", lambda d: d["envs"][1].update(env))
    return Workspace.find(root)


def test_a_local_env_gets_the_local_backend(tmp_path: Path) -> None:
    workspace = Workspace.find(write_use_case(tmp_path))
    backend = open_backend(workspace, load_use_case(workspace, "mini"), "pr")
    assert backend.name == "local"
    assert backend.registry.data.list_versions() == []


def test_an_azureml_env_gets_the_azure_ml_backend_without_calling_azure(tmp_path: Path) -> None:
    workspace = _on_azureml(tmp_path)
    backend = open_backend(workspace, load_use_case(workspace, "mini"), "dev",
                           AzureVariables({"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION}))
    assert backend.name == "azureml"
    assert backend.registry.runs.latest_run_set("experiment", "mini", "dev") is None  # the local run registry
    assert backend.settings.workspace == "llmops-ws"  # type: ignore[attr-defined]


def test_an_azureml_env_without_a_subscription_gets_the_settings_error(tmp_path: Path) -> None:
    workspace = _on_azureml(tmp_path)
    with pytest.raises(LlmopsError) as refused:
        open_backend(workspace, load_use_case(workspace, "mini"), "dev")
    assert f"error: {refused.value}\n" == NO_SUBSCRIPTION


@pytest.mark.parametrize("command", [
    ["register-data"], ["experiment", "--provider", "replay"], ["evaluate", "--provider", "replay"],
    ["run", "--provider", "replay"], ["flow-test", "--provider", "replay"], ["report"], ["register-model"],
    ["deploy"], ["endpoint", "status"], ["endpoint", "traffic"], ["endpoint", "rollback"], ["endpoint", "up"],
    ["post-prod-eval", "--provider", "replay"], ["models", "list"],
])
def test_every_command_that_reaches_a_backend_needs_the_subscription(tmp_path: Path, command: list[str],
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    workspace = _on_azureml(tmp_path)
    assert main(["--root", str(tmp_path), command[0], *command[1:], "--use-case", "mini", "--env", "dev"]) == 1
    assert capsys.readouterr().err == NO_SUBSCRIPTION
    assert not workspace.state_dir.exists()  # stopped before anything was written


def test_the_subscription_may_come_from_the_env_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _on_azureml(tmp_path)
    (tmp_path / ".env").write_text(f"AZURE_SUBSCRIPTION_ID={SUBSCRIPTION}\n", encoding="utf-8")
    assert main(["--root", str(tmp_path), "endpoint", "status", "--use-case", "mini", "--env", "dev"]) == 0
    assert capsys.readouterr().err == ""


def test_an_ignored_runtime_name_is_noted_once_per_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    _on_azureml(tmp_path, RUNTIME_NAME="my-runtime")
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", SUBSCRIPTION)
    # endpoint status opens the backend and reads the (local) endpoint registry through it: no call to Azure
    assert main(["--root", str(tmp_path), "endpoint", "status", "--use-case", "mini", "--env", "dev"]) == 0
    assert capsys.readouterr().err == RUNTIME_NOTICE
