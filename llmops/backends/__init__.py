"""Backends: where state lives and where a step's lines run, behind two protocols (protocols.py).

`open_backend` is the one place that picks a backend by the env's BACKEND; steps get theirs from it. An
azureml env needs the Azure variables (AZURE_SUBSCRIPTION_ID, the cloud), which only the CLI edge reads
(`azure_edge`) and passes in: steps never read the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: importing the factory loads no backend and no config model
    from llmops.backends.azureml.settings import AzureVariables
    from llmops.backends.production_logs import ProductionLogStore
    from llmops.backends.protocols import Backend
    from llmops.backends.targets import DeploymentTarget, ImageDigest
    from llmops.config.deployment_config import AzureOnlineEndpoint
    from llmops.config.use_case import UseCase
    from llmops.config.workspace import Workspace


def open_backend(workspace: Workspace, use_case: UseCase, env: str, azure: AzureVariables | None = None) -> Backend:
    """The backend the env's BACKEND (llmops_config.json) names, on this workspace. For azureml, `azure` holds the
    variables `azure_edge` read; without them (or with them incomplete) the settings' error names what is missing."""
    if use_case.env(env).BACKEND == "azureml":
        from llmops.backends.azureml.backend import open_azure_backend

        return open_azure_backend(workspace, use_case, env, azure)
    return default_backend(workspace)


def default_backend(workspace: Workspace) -> Backend:
    """The backend of commands that name no env (`models list`, `connections`): local, the default BACKEND."""
    from llmops.backends.local import LocalBackend

    return LocalBackend.at(workspace.state_dir)


def azure_edge(environ: Mapping[str, str], env_file: Path, verbose: bool) -> AzureVariables:
    """What the CLI does once for a command on an azureml env: read the Azure variables (from `environ`, else the
    repository's .env) for open_backend, and keep the Azure SDKs' own logs off stderr unless --verbose."""
    from llmops.backends.azureml.settings import azure_variables
    from llmops.backends.azureml.workspace import quiet_sdk_logs

    if not verbose:
        quiet_sdk_logs()
    return azure_variables(environ, env_file)


def open_cloud_target(backend: Backend, kind: str, block: AzureOnlineEndpoint, env: str, where: str,
                      image_digest: ImageDigest) -> DeploymentTarget:
    """The Azure ML online endpoint (`kind`: azure_managed or kubernetes) the env's block names,
    in the env's workspace. It serves model versions of that workspace, so the env's BACKEND must be azureml."""
    from llmops.errors import LlmopsError

    if backend.name != "azureml":
        raise LlmopsError(f"--target {kind} deploys model versions registered in Azure ML: env '{env}' has BACKEND "
                          f"'{backend.name}'; set BACKEND to azureml (with its workspace keys) in llmops_config.json, "
                          "or deploy with --target local")
    from llmops.backends.azureml.backend import AzureBackend
    from llmops.backends.azureml.online import open_online_target

    assert isinstance(backend, AzureBackend)  # the only backend named azureml
    return open_online_target(backend.access, kind, block, backend.settings.use_case, env, where, image_digest)


def workspace_registry(backend: Backend, env: str) -> tuple[str, str]:
    """(name, resource group) of the env's Azure ML workspace's own container registry, read from its
    `container_registry` resource id: where Azure ML online deployments pull the serving image from, so where
    `image build` pushes it."""
    from llmops.errors import LlmopsError

    if backend.name != "azureml":
        raise LlmopsError(f"env '{env}' has BACKEND '{backend.name}', so it has no Azure ML workspace whose container "
                          "registry the image could go to; pass --registry NAME, or set BACKEND to azureml")
    from llmops.backends.azureml.backend import AzureBackend

    assert isinstance(backend, AzureBackend)  # the only backend named azureml
    access = backend.access
    with access.errors():
        found = access.client.workspaces.get(access.settings.workspace).container_registry
    if not found:
        raise LlmopsError(f"workspace '{access.settings.workspace}' has no container registry for the serving image; "
                          "attach one (az ml workspace update --container-registry <id>) or pass --registry NAME")
    parts = str(found).rstrip("/").split("/")
    group = next((parts[i + 1] for i, part in enumerate(parts[:-1]) if part.lower() == "resourcegroups"), "")
    return parts[-1], group


def open_production_log_store(use_case: UseCase, env: str, azure: AzureVariables | None = None) -> ProductionLogStore:
    """Where the env's cloud endpoint ships its production log: a container on the storage account of the env's Azure
    ML workspace (backends/production_logs.py), whatever the env's BACKEND (a web app's env may keep the local one).
    `azure`: the variables azure_edge read; without them the settings' error names what is missing."""
    from llmops.backends.azureml.access import WorkspaceAccess
    from llmops.backends.azureml.production_logs import BlobProductionLogStore, LogContainer
    from llmops.backends.azureml.settings import AzureVariables, azure_settings

    settings = azure_settings(use_case, env, azure or AzureVariables())
    return BlobProductionLogStore(LogContainer(WorkspaceAccess(settings)))
