"""llmops pointed at the emulator the way a user points it at Azure: environment variables and an env's keys.

`llmops_environment(emulator)` is what a CI job would export (the subscription, the cloud, and the
managed identity the platform provides); `clean_environment()` (for a child process) and
`use_environment()` (for this one) drop whatever Azure login the developer's own shell carries, so only the
emulator's identity can answer. `write_azure_use_case` writes the mini use case with an env `azure` whose
BACKEND is azureml and whose keys name the emulator's workspace; `azure_settings_for` reads its settings.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from llmops.backends.azureml.jobs import tracking
from llmops.backends.azureml.settings import AzureSettings, AzureVariables, azure_settings
from llmops.config.use_case import load_use_case
from llmops.config.workspace import Workspace
from tests.support.mini_use_case import edit_json, write_use_case

from .emulator import AzureMLEmulator

ENV = "azure"
EMULATOR_POLL_S = 0.5
# Variables through which a shell may carry an Azure identity or cloud of its own.
_AZURE_PREFIXES = ("AZURE_", "IDENTITY_", "MSI_", "IMDS_", "AZUREML_", "LLMOPS_AZURE_", "ARM_CLOUD_METADATA_URL")


def clean_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    return {k: v for k, v in (os.environ if base is None else base).items() if not k.startswith(_AZURE_PREFIXES)}


def llmops_environment(emulator: AzureMLEmulator) -> dict[str, str]:
    return {
        "AZURE_SUBSCRIPTION_ID": emulator.scope.subscription,
        "LLMOPS_AZURE_CLOUD": emulator.cloud,
        "LLMOPS_AZURE_CLOUD_METADATA": json.dumps(emulator.cloud_metadata()),
        **emulator.identity_environment(),
        # DefaultAzureCredential's own switch, as a user in Azure would set it: only the managed identity,
        # never a developer's `az login`, answers for the emulator's identity.
        "AZURE_TOKEN_CREDENTIALS": "ManagedIdentityCredential",
    }


def write_azure_use_case(root: Path, emulator: AzureMLEmulator, name: str = "mini", **keys: Any) -> Path:
    """The mini use case plus env `azure` on the emulator's workspace; `keys` add to or override its keys."""
    folder = write_use_case(root, name)
    scope = emulator.scope
    env = {
        "ENV_NAME": ENV,
        "BACKEND": "azureml",
        "STANDARD_FLOW_PATH": "flows/standard",
        "EVALUATION_FLOW_PATH": "flows/eval",
        "RESOURCE_GROUP_NAME": scope.resource_group,
        "WORKSPACE_NAME": scope.workspace,
        "KEYVAULT_NAME": scope.key_vault,
        **keys,
    }
    edit_json(folder / "llmops_config.json", lambda config: config["envs"].append(env))
    return folder


def use_environment(monkeypatch: pytest.MonkeyPatch, emulator: AzureMLEmulator, **changes: str) -> dict[str, str]:
    """This process's environment as llmops_environment() sets it, with nothing of the shell's Azure login."""
    for name in os.environ:
        if name.startswith(_AZURE_PREFIXES):
            monkeypatch.delenv(name)
    environment = {**llmops_environment(emulator), **changes}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    # Steps run in this process poll their jobs every half second: the emulator's jobs take seconds, not the
    # minutes the product's slower polls are made for.
    monkeypatch.setattr(tracking, "FIRST_POLL_S", EMULATOR_POLL_S)
    monkeypatch.setattr(tracking, "MAX_POLL_S", EMULATOR_POLL_S)
    return environment


def azure_settings_for(
    root: Path, emulator: AzureMLEmulator, variables: Mapping[str, str] | None = None, **keys: Any
) -> AzureSettings:
    """The settings of env `azure` of a fresh mini use case in `root`, as the CLI would read them."""
    write_azure_use_case(root, emulator, **keys)
    use_case = load_use_case(Workspace.find(root), "mini")
    return azure_settings(use_case, ENV, AzureVariables(dict(variables or llmops_environment(emulator))))
