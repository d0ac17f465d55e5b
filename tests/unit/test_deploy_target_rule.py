"""One rule picks an env's deployment target: llmops (DeploymentConfig.target_for, behind `--target auto`) and the
CD workflow's read-deploy-target action (bash and jq, before llmops is installed) agree on every case here."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmops.cli.targets import TARGET_CHOICES as CLI_CHOICES
from llmops.config.deployment_config import DeploymentConfig
from llmops.errors import LlmopsError
from llmops.serving.targets import TARGET_CHOICES

REPO = Path(__file__).resolve().parents[2]
ACTION = REPO / ".github/actions/read-deploy-target/action.yml"
ENV = "dev"


def block(key: str, env: str = ENV) -> tuple[str, dict[str, Any]]:
    common: dict[str, Any] = {"ENV_NAME": env}
    if key != "webapp_endpoint":
        common.update(ENDPOINT_NAME="ep", CURRENT_DEPLOYMENT_NAME="blue")
    return key, common


def config(*blocks: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in blocks:
        data.setdefault(key, []).append(value)
    return data


CASES = {
    "no block": (config(), "local"),
    "only another env's Azure block": (config(block("azure_managed_endpoint", "prod")), "local"),
    "local only": (config(block("local_endpoint")), "local"),
    "local beside every Azure block (the shipped use cases)": (config(
        block("local_endpoint"), block("azure_managed_endpoint"), block("kubernetes_endpoint"),
        block("webapp_endpoint")), "local"),
    "only azure_managed": (config(block("azure_managed_endpoint")), "azure_managed"),
    "only kubernetes": (config(block("kubernetes_endpoint")), "kubernetes"),
    "only webapp": (config(block("webapp_endpoint")), "webapp"),
    "webapp and a local block for another env": (config(block("webapp_endpoint"), block("local_endpoint", "prod")),
                                                 "webapp"),
    "two Azure blocks, no local": (config(block("azure_managed_endpoint"), block("webapp_endpoint")), None),
}


def python_rule(data: dict[str, Any]) -> str | None:
    try:
        return DeploymentConfig.model_validate(data).target_for(ENV)
    except LlmopsError:
        return None


def action_rule(tmp_path: Path, data: dict[str, Any], asked: str = "auto") -> str | None:
    """Run the action's one bash step as GitHub would, in a folder holding the use case's config."""
    [step] = yaml.safe_load(ACTION.read_text(encoding="utf-8"))["runs"]["steps"]
    folder = tmp_path / "use_cases/uc/configs"
    folder.mkdir(parents=True)
    (folder / "deployment_config.json").write_text(json.dumps(data), encoding="utf-8")
    output = tmp_path / "github_output"
    output.write_text("")
    env = {"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output),
           "CONFIG": "use_cases/uc/configs/deployment_config.json",
           "LLMOPS_ENV": ENV, "ASKED": asked}
    done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        assert "::error" in done.stdout, done
        return None
    return output.read_text().strip().removeprefix("target=")


@pytest.mark.skipif(shutil.which("jq") is None, reason="the action reads the config with jq")
@pytest.mark.parametrize("case", CASES)
def test_llmops_and_the_cd_action_pick_the_same_target(tmp_path: Path, case: str) -> None:
    data, expected = CASES[case]
    assert python_rule(data) == expected
    assert action_rule(tmp_path, data) == expected


@pytest.mark.skipif(shutil.which("jq") is None, reason="the action reads the config with jq")
@pytest.mark.parametrize("asked", ["local", "azure_managed", "kubernetes", "webapp"])
def test_a_named_target_is_taken_as_named(tmp_path: Path, asked: str) -> None:
    assert action_rule(tmp_path, config(block("local_endpoint")), asked) == asked


def test_the_cli_offers_the_targets_llmops_knows() -> None:
    assert CLI_CHOICES == TARGET_CHOICES == ("auto", "local", "azure_managed", "kubernetes", "webapp")
