"""open_backend: the env's BACKEND picks the backend; an env on azureml is refused by every command that
would reach a backend, before it writes any state or opens an LLM session."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops.backends import open_backend
from llmops.cli.main import main
from llmops.config.use_case import load_use_case
from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError
from tests.support.mini_use_case import edit_json, write_use_case

REFUSAL = ("error: use case 'mini', env 'dev': BACKEND is 'azureml', but this release runs steps on the local "
           "backend only; set \"BACKEND\": \"local\" in llmops_config.json\n")


def _on_azureml(root: Path) -> Workspace:
    folder = write_use_case(root)
    edit_json(folder / "llmops_config.json", lambda d: d["envs"][1].__setitem__("BACKEND", "azureml"))
    return Workspace.find(root)


def test_a_local_env_gets_the_local_backend(tmp_path: Path) -> None:
    workspace = Workspace.find(write_use_case(tmp_path))
    backend = open_backend(workspace, load_use_case(workspace, "mini"), "pr")
    assert backend.name == "local"
    assert backend.registry.data.list_versions() == []


def test_an_azureml_env_is_refused_by_the_factory(tmp_path: Path) -> None:
    workspace = _on_azureml(tmp_path)
    with pytest.raises(LlmopsError) as refused:
        open_backend(workspace, load_use_case(workspace, "mini"), "dev")
    assert f"error: {refused.value}\n" == REFUSAL


@pytest.mark.parametrize("command", [
    ["register-data"], ["experiment", "--provider", "replay"], ["evaluate", "--provider", "replay"],
    ["run", "--provider", "replay"], ["flow-test", "--provider", "replay"], ["report"], ["register-model"],
    ["deploy"], ["endpoint", "status"], ["endpoint", "traffic"], ["endpoint", "rollback"],
])
def test_every_command_that_reaches_a_backend_refuses_azureml(tmp_path: Path, command: list[str],
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    workspace = _on_azureml(tmp_path)
    assert main(["--root", str(tmp_path), command[0], "--use-case", "mini", "--env", "dev", *command[1:]]) == 1
    assert capsys.readouterr().err == REFUSAL
    assert not workspace.state_dir.exists()  # refused before anything was written
