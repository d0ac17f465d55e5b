"""A datastore of the workspace as a blob container: llmops writes content-addressed files into the default one.

Data and model versions point at folders named by the sha256 of what they hold (`llmops/data/<sha256>/`,
`llmops/models/<sha256>/`), so the same bytes always land at the same path, a path never changes content,
and bytes already there are not uploaded again. azure-ai-ml's own upload (`LocalUpload/<hash>/`) is
content-addressed too, but by a salted hash no user can recompute with sha256sum, and it prints to stderr;
so llmops uploads itself, with azure-storage-blob and the datastore's own credential: its account key or
SAS token from Azure ML, or, for an identity-based datastore, llmops' own login (which then needs Storage
Blob Data Contributor on the account). Blob transfers use azure-storage-blob's retries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from azure.core.credentials import TokenCredential

from llmops.errors import LlmopsError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.storage.blob import ContainerClient

_URI = re.compile(r"^azureml://(?:.*/)?datastores/(?P<datastore>[^/]+)/paths/(?P<path>.+)$")


def datastore_uri(datastore: str, path: str) -> str:
    """The short form Azure ML accepts for an asset's path on a datastore of the workspace."""
    return f"azureml://datastores/{datastore}/paths/{path}"


def parse_datastore_uri(uri: str) -> tuple[str, str] | None:
    """(datastore, path) of an `azureml://` datastore URI, short or long form; None for any other URI."""
    found = _URI.match(uri or "")
    return (found["datastore"], found["path"]) if found else None


@dataclass(frozen=True)
class Datastore:
    name: str
    container: ContainerClient

    @classmethod
    def open(cls, client: MLClient, credential: TokenCredential, name: str | None = None) -> Datastore:
        """The datastore `name` (the workspace's default when None), opened with the credential it takes."""
        from azure.storage.blob import ContainerClient

        store: Any = (client.datastores.get(name, include_secrets=True) if name
                      else client.datastores.get_default(include_secrets=True))
        # A Data Lake Gen2 filesystem is a blob container too, on the same account's blob endpoint.
        container = getattr(store, "container_name", None) or getattr(store, "filesystem", None)
        if not container:
            raise LlmopsError(f"datastore '{store.name}' is of type {store.type}, which llmops cannot upload to; make "
                              "an Azure Blob or Data Lake Gen2 datastore the workspace's default")
        secrets = store.credentials
        blob_credential = (getattr(secrets, "account_key", None) or getattr(secrets, "sas_token", None)
                           or credential)
        account_url = f"{store.protocol or 'https'}://{store.account_name}.blob.{store.endpoint}"
        return cls(store.name, ContainerClient(account_url, container, credential=blob_credential))

    def uri(self, path: str) -> str:
        return datastore_uri(self.name, path)

    def upload(self, files: Iterable[tuple[Path, str]]) -> None:
        """Upload each (local file, blob path) not there yet. Meant for content-addressed paths: a blob that
        exists holds the same bytes (an upload is committed whole)."""
        for local, path in files:
            blob = self.container.get_blob_client(path)
            if not blob.exists():
                with local.open("rb") as handle:
                    blob.upload_blob(handle, overwrite=True)

    def download_folder(self, prefix: str, target: Path) -> None:
        """Every blob under `prefix` into the folder `target`, keeping the paths below the prefix."""
        prefix = prefix.rstrip("/") + "/"
        for blob in self.container.list_blobs(name_starts_with=prefix):
            rel = PurePosixPath(blob.name[len(prefix):])
            if not rel.parts or ".." in rel.parts:
                continue
            local = target.joinpath(*rel.parts)
            local.parent.mkdir(parents=True, exist_ok=True)
            with local.open("wb") as handle:
                self.container.download_blob(blob.name).readinto(handle)
