"""Datasets as Azure ML data assets: an asset per dataset, a `uri_file` version per content of the file.

A version's bytes lie at `llmops/data/<sha256>/<file name>` on the workspace's default datastore
(datastore.py). Its tags: `sha256`, `rows`, `path` (the file, relative to the repository), `git_commit` and
`git_dirty` (the file differed from that commit). A new version is registered only when the file's sha256
differs from the latest version's tag, so the latest version is always the data last registered (unlike the
local registry, a file reverted to earlier bytes gets a new version, pointing at the same blob).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.backends.azureml.access import WorkspaceAccess, next_version
from llmops.backends.azureml.asset_tags import SHA256, git_tags, registered_at, tag, tagged_sha256
from llmops.backends.azureml.datastore import Datastore
from llmops.backends.content_hash import file_sha256
from llmops.backends.types import DataVersion
from llmops.config.jsonl import read_objects

DATA_FOLDER = "llmops/data"


def data_blob_path(sha256: str, file_name: str) -> str:
    return f"{DATA_FOLDER}/{sha256}/{file_name}"


def _record(asset: Any, changed: bool) -> DataVersion:
    tags = asset.tags or {}
    rows = str(tags.get("rows", ""))
    return DataVersion(asset.name, int(asset.version), tagged_sha256(asset), tags.get("path", ""),
                       asset.description or "", int(rows) if rows.isdigit() else 0, registered_at(asset), changed)


@dataclass(frozen=True)
class AzureDataRegistry:
    """The DataRegistry protocol (llmops/backends/protocols.py) on the env's Azure ML workspace."""

    access: WorkspaceAccess
    root: Path  # the repository: where the git commit a version comes from is read

    def register(self, name: str, path: Path, description: str, shown_path: str) -> DataVersion:
        from azure.ai.ml.constants import AssetTypes
        from azure.ai.ml.entities import Data

        digest = file_sha256(path)
        rows = len(read_objects(path))  # a file that no step could read is refused before anything is sent
        versions = self.access.versions(self.access.client.data, name)
        if versions and tagged_sha256(versions[-1]) == digest:
            return _record(versions[-1], changed=False)
        blob_path = data_blob_path(digest, path.name)
        tags = {SHA256: digest, "rows": str(rows), "path": tag(shown_path), **git_tags(self.root, path)}
        with self.access.errors():
            datastore = Datastore.open(self.access.client, self.access.login)
            datastore.upload([(path, blob_path)])
            asset = Data(name=name, version=next_version(versions), type=AssetTypes.URI_FILE,
                         path=datastore.uri(blob_path), description=description or None, tags=tags)
            return _record(self.access.client.data.create_or_update(asset), changed=True)

    def current_version(self, name: str, path: Path) -> DataVersion | None:
        digest = file_sha256(path)
        versions = self.access.versions(self.access.client.data, name)
        matching = [v for v in versions if tagged_sha256(v) == digest]
        return _record(matching[-1], changed=False) if matching else None

    def list_versions(self, name: str | None = None) -> list[DataVersion]:
        client = self.access.client
        if name is None:
            with self.access.errors():
                names = sorted(container.name for container in client.data.list())
        else:
            names = [name]
        # Only llmops' own versions: an asset registered by other means carries no sha256 to compare with.
        return [_record(v, changed=False) for n in names for v in self.access.versions(client.data, n)
                if tagged_sha256(v)]
