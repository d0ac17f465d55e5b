"""The production logs of an env's cloud endpoints: a container on the workspace's storage account.

The container (production_logs.CONTAINER) sits beside the default datastore's, on the same account, so no new
resource is needed: a deploy makes it (with the datastore's account key, else the login) and grants the serving
identity Storage Blob Data Contributor on that container alone (online/identity.py, webapp/identity.py), and
post-prod-eval reads it the same way. The server is told only the container's URL (production_logs.URL_ENV).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from llmops.backends.azureml.access import WorkspaceAccess
from llmops.backends.azureml.errors import azure_error, is_azure_error
from llmops.backends.canary import CanaryDecision
from llmops.backends.production_logs import CONTAINER, Segment, parse_segment, record_name
from llmops.errors import LlmopsError

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

BLOB_CONTRIBUTOR = "Storage Blob Data Contributor"


@dataclass
class LogContainer:
    """The production-log container of the env's workspace: its URL, its ARM scope, and a client for it."""

    access: WorkspaceAccess

    @cached_property
    def _store(self) -> Any:
        return self.call("reading the workspace's default datastore",
                          lambda: self.access.client.datastores.get_default(include_secrets=True))

    def call(self, what: str, action: Any) -> Any:
        try:
            return action()
        except Exception as error:
            if not is_azure_error(error):
                raise
            raise LlmopsError(f"{what}: {azure_error(error, self.access.settings)}") from error

    @property
    def account(self) -> str:
        return str(self._store.account_name)

    @property
    def url(self) -> str:
        store = self._store
        return f"{store.protocol or 'https'}://{store.account_name}.blob.{store.endpoint}/{CONTAINER}"

    @cached_property
    def scope(self) -> str:
        """The container's ARM id, the scope of the serving identity's role."""
        account_id = self.call("reading the workspace's storage account", lambda: self.access.client.workspaces.get(
            self.access.settings.workspace).storage_account)
        if not account_id or not str(account_id).lower().endswith(f"/storageaccounts/{self.account}".lower()):
            raise LlmopsError(f"the workspace's default datastore is on storage account '{self.account}', not on the "
                              f"workspace's own ({account_id or 'none'}); make the workspace's blob datastore "
                              "(workspaceblobstore) its default again")
        return f"{account_id}/blobServices/default/containers/{CONTAINER}"

    @cached_property
    def client(self) -> ContainerClient:
        from azure.storage.blob import ContainerClient

        key = getattr(self._store.credentials, "account_key", None)  # a datastore's SAS is for its own container
        return ContainerClient(self.url.rsplit("/", 1)[0], CONTAINER, credential=key or self.access.login)

    def ensure(self) -> bool:
        """Make the container when it is missing; returns whether it did."""
        from azure.core.exceptions import ResourceExistsError

        if self.call(f"reading blob container {self.url}", self.client.exists):
            return False
        try:
            self.call(f"creating blob container {self.url}", self.client.create_container)
        except LlmopsError as error:
            if isinstance(error.__cause__, ResourceExistsError):
                return False
            raise LlmopsError(f"{error}; create it once: az storage container create --account-name {self.account} "
                              f"--name {CONTAINER} --auth-mode login") from error.__cause__
        return True


@dataclass
class BlobProductionLogStore:
    """production_logs.ProductionLogStore on the workspace's production-log container."""

    container: LogContainer

    @property
    def location(self) -> str:
        return self.container.url

    def _client(self) -> ContainerClient:
        return self.container.client

    def segments(self, endpoint: str) -> list[Segment]:
        names = self.container.call(f"listing {self.location}/{endpoint}/", lambda: [
            blob.name for blob in self._client().list_blobs(name_starts_with=f"{endpoint}/")])
        return sorted(s for s in map(parse_segment, names) if s is not None)

    def read(self, name: str) -> bytes:
        return bytes(self.container.call(f"reading {self.location}/{name}",
                                          lambda: self._client().download_blob(name).readall()))

    def evaluated(self, endpoint: str, env: str) -> set[str]:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            data = self._client().download_blob(record_name(endpoint, env)).readall()
        except ResourceNotFoundError:
            return set()
        except Exception as error:
            if not is_azure_error(error):
                raise
            raise LlmopsError(f"reading {self.location}/{record_name(endpoint, env)}: "
                              f"{azure_error(error, self.container.access.settings)}") from error
        try:
            names = json.loads(data).get("evaluated") or []
        except (ValueError, AttributeError):
            raise LlmopsError(f"{self.location}/{record_name(endpoint, env)} is not the record post-prod-eval writes; "
                              "delete it to evaluate every segment again") from None
        return {str(name) for name in names}

    def record_evaluated(self, endpoint: str, env: str, names: set[str]) -> None:
        every = sorted(self.evaluated(endpoint, env) | names)
        body = json.dumps({"endpoint": endpoint, "env": env, "evaluated": every}, indent=1).encode()
        self.container.call(f"writing {self.location}/{record_name(endpoint, env)}", lambda: self._client().upload_blob(
            record_name(endpoint, env), body, overwrite=True))

    def record_decision(self, decision: CanaryDecision) -> CanaryDecision:
        from llmops.backends.azureml import canary_decisions

        return canary_decisions.record(self.container, decision)

    def decisions(self, endpoint: str, limit: int | None = None) -> list[CanaryDecision]:
        from llmops.backends.azureml import canary_decisions

        return canary_decisions.decisions(self.container, endpoint, limit)
