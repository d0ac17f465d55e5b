"""The Azure ML backend: the Backend protocol (llmops/backends/protocols.py) on an env's workspace.

Data and models live in the workspace (data_assets.py, model_assets.py). Runs stay in the local run registry
under the state directory: the executor merges its jobs' outputs (per-line results, run records, accounting)
into it, so report, gates and register-model read runs through one code path whichever backend ran them.
Endpoints stay in the local endpoint registry until cloud endpoints arrive.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from azure.core.credentials import TokenCredential

from llmops.backends.azureml.access import WorkspaceAccess
from llmops.backends.azureml.data_assets import AzureDataRegistry
from llmops.backends.azureml.model_assets import AzureModelRegistry
from llmops.backends.azureml.settings import AzureSettings, AzureVariables, azure_settings, runtime_name_notice
from llmops.backends.azureml.snapshot_cache import SnapshotCache
from llmops.backends.local.registry.endpoints import LocalEndpointRegistry
from llmops.backends.local.registry.runs import LocalRunRegistry
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

    from llmops.backends.protocols import Executor

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AzureRegistry:
    """The Registry protocol: data and models in the workspace, runs and endpoints in the state directory."""

    data: AzureDataRegistry
    runs: LocalRunRegistry
    models: AzureModelRegistry
    endpoints: LocalEndpointRegistry


@dataclass
class AzureBackend:
    workspace: Workspace
    settings: AzureSettings
    credential: TokenCredential | None = None  # DefaultAzureCredential for the env's cloud when None
    name: str = field(default="azureml", init=False)

    @cached_property
    def access(self) -> WorkspaceAccess:
        return WorkspaceAccess(self.settings, self.credential)

    @property
    def client(self) -> MLClient:
        """The env's MLClient, built on first use and kept."""
        return self.access.client

    @cached_property
    def registry(self) -> AzureRegistry:
        state = self.workspace.state_dir
        return AzureRegistry(
            data=AzureDataRegistry(self.access, self.workspace.root),
            runs=LocalRunRegistry(state),
            models=AzureModelRegistry(self.access, SnapshotCache(state / "azureml" / "models")),
            endpoints=LocalEndpointRegistry(state),
        )

    @cached_property
    def executor(self) -> Executor:
        from llmops.backends.azureml.executor import AzureMLExecutor

        return AzureMLExecutor(self.workspace, self.settings, self.client, self.registry.runs)


def open_azure_backend(workspace: Workspace, use_case: UseCase, env: str, variables: AzureVariables | None,
                       credential: TokenCredential | None = None) -> AzureBackend:
    """The backend of an azureml env; its settings' LlmopsError, naming every missing or malformed one, otherwise."""
    settings = azure_settings(use_case, env, variables or AzureVariables())
    notice = runtime_name_notice(settings)
    if notice:
        logger.warning("note: %s", notice)
    return AzureBackend(workspace, settings, credential)
