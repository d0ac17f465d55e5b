"""What the Azure ML registries of one env share: its settings, its login and its MLClient, each made once.

The client is built on first use: importing azure-ai-ml takes seconds, and a command that reads only the
local run registry (report) never needs it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from azure.core.credentials import TokenCredential

from llmops.backends.azureml.credential import azure_credential
from llmops.backends.azureml.errors import azure_error, azure_errors, is_azure_error, missing_in_workspace
from llmops.backends.azureml.settings import AzureSettings
from llmops.backends.azureml.workspace import ml_client

if TYPE_CHECKING:
    from azure.ai.ml import MLClient


@dataclass
class WorkspaceAccess:
    settings: AzureSettings
    credential: TokenCredential | None = None  # DefaultAzureCredential for the env's cloud when None

    @cached_property
    def login(self) -> TokenCredential:
        return self.credential or azure_credential(self.settings.cloud)

    @cached_property
    def client(self) -> MLClient:
        return ml_client(self.settings, self.login)

    def errors(self) -> AbstractContextManager[None]:
        """Turns an Azure exception raised inside the block into its one-line AzureFailure (exit 1)."""
        return azure_errors(self.settings)

    def versions(self, operations: Any, name: str) -> list[Any]:
        """Every version of asset `name` with a version number, lowest first; [] when no asset has that name yet.

        Only a 404 for the asset itself means "none yet". A refused login, a missing role, a network failure or a
        missing workspace stops the caller with its one-line error: the original template registered a new
        version on any error of this lookup, so a 403 or a dropped connection made a duplicate version.
        """
        try:
            found = list(operations.list(name=name))
        except Exception as error:
            if missing_in_workspace(error):
                return []
            if not is_azure_error(error):
                raise
            raise azure_error(error, self.settings) from error
        # llmops numbers its versions 1, 2, ...; a version someone named otherwise is not one of them.
        return sorted((v for v in found if str(v.version).isdigit()), key=lambda v: int(v.version))


def next_version(versions: list[Any]) -> str:
    """The version after the highest of `versions` (as WorkspaceAccess.versions lists them)."""
    return str(int(versions[-1].version) + 1 if versions else 1)
