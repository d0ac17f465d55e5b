"""Models as Azure ML models: a `custom_model` version per flow snapshot, new only when the flow's hash changed.

A version's files (the flow folder without its runtime folders, content_hash.py) lie at
`llmops/models/<sha256>/` on the workspace's default datastore. Its tags carry the key facts: `sha256` (the
flow's hash), `use_case`, `env`, `flow`, `git_commit`, `git_dirty`, `variant`, `data` (name:version, ...),
`runs` and `metrics`; its properties carry the whole lineage as JSON (`llmops.lineage`), which, unlike tags,
cannot change once the version exists. A new version is registered only when the flow's hash differs from
the latest version's `sha256` tag.

A ModelVersion's snapshot is a folder on this machine (snapshot_cache.py): copied from the flow folder when
this machine registers it, downloaded by `get` and `latest` (what deploy reads) otherwise. `list_versions`
downloads nothing, so the snapshots it names may not be on this machine yet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.backends.azureml.access import WorkspaceAccess, next_version
from llmops.backends.azureml.asset_tags import SHA256, registered_at, tag, tagged_sha256
from llmops.backends.azureml.datastore import Datastore, parse_datastore_uri
from llmops.backends.azureml.snapshot_cache import SnapshotCache
from llmops.backends.content_hash import flow_files, flow_hash
from llmops.backends.types import ModelVersion
from llmops.errors import LlmopsError, NotFoundError, unknown_name

MODEL_FOLDER = "llmops/models"
LINEAGE = "llmops.lineage"
REGISTER_HINT = ("Register it with: llmops register-model --use-case <name> --env <env> (a model is named "
                 "<use_case>_<env>)")


def model_tags(sha256: str, lineage: dict[str, Any]) -> dict[str, str]:
    git = lineage.get("git") or {}
    facts = {
        SHA256: sha256,
        "use_case": lineage.get("use_case"),
        "env": lineage.get("env"),
        "flow": lineage.get("flow"),
        "git_commit": git.get("commit"),
        "git_dirty": None if git.get("dirty") is None else str(bool(git["dirty"])).lower(),
        "variant": lineage.get("variant_label"),
        "data": ",".join(f"{d['name']}:{d['version']}" for d in lineage.get("data") or []),
        "runs": f"{len(lineage.get('experiment_runs') or [])} experiment, "
                f"{len(lineage.get('evaluation_runs') or [])} evaluation",
        "metrics": ",".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in sorted((lineage.get("metrics") or {}).items())),
    }
    return {key: tag(value) for key, value in facts.items() if value not in (None, "")}


def _lineage(asset: Any) -> dict[str, Any] | None:
    text = (asset.properties or {}).get(LINEAGE)
    try:
        lineage = json.loads(text) if text else None
    except json.JSONDecodeError:
        return None
    return lineage if isinstance(lineage, dict) else None


def _is_ours(asset: Any) -> bool:
    """A version llmops registered: a flow snapshot with its hash and lineage (a workspace holds other models too)."""
    return bool(tagged_sha256(asset)) and _lineage(asset) is not None


@dataclass(frozen=True)
class AzureModelRegistry:
    """The ModelRegistry protocol (llmops/backends/protocols.py) on the env's Azure ML workspace."""

    access: WorkspaceAccess
    snapshots: SnapshotCache

    def register(self, name: str, flow_folder: Path, lineage: dict[str, Any]) -> ModelVersion:
        from azure.ai.ml.constants import AssetTypes
        from azure.ai.ml.entities import Model

        digest = flow_hash(flow_folder)
        client = self.access.client
        versions = self.access.versions(client.models, name)
        snapshot = self.snapshots.copy_of(digest, flow_folder)
        if versions and tagged_sha256(versions[-1]) == digest:
            return self._record(versions[-1], snapshot)
        folder = f"{MODEL_FOLDER}/{digest}"
        with self.access.errors():
            datastore = Datastore.open(client, self.access.login)
            datastore.upload((snapshot / rel, f"{folder}/{rel.as_posix()}") for rel in flow_files(snapshot))
            model = Model(
                name=name, version=next_version(versions), type=AssetTypes.CUSTOM_MODEL, path=datastore.uri(folder),
                description=f"flow {lineage.get('flow')} of use case {lineage.get('use_case')}, env "
                            f"{lineage.get('env')}: a prompt flow snapshot registered by llmops",
                tags=model_tags(digest, lineage),
                properties={LINEAGE: json.dumps(lineage, sort_keys=True, default=str)},
            )
            return self._record(client.models.create_or_update(model), snapshot, changed=True)

    def get(self, name: str, version: int) -> ModelVersion:
        versions = self._versions_or_unknown(name)
        found = [v for v in versions if int(v.version) == version]
        if not found:
            raise NotFoundError(f"model '{name}' has no version {version}; versions: "
                                + ", ".join(str(v.version) for v in versions))
        return self._record(found[0], self._snapshot(found[0]))

    def latest(self, name: str) -> ModelVersion:
        newest = self._versions_or_unknown(name)[-1]
        return self._record(newest, self._snapshot(newest))

    def list_versions(self, use_case: str | None = None) -> list[ModelVersion]:
        records = [self._record(v, self.snapshots.path(tagged_sha256(v)))
                   for name in self._names() for v in self._versions(name)]
        return [r for r in records if use_case is None or r.lineage.get("use_case") == use_case]

    def _names(self) -> list[str]:
        with self.access.errors():
            return sorted(container.name for container in self.access.client.models.list())

    def _versions(self, name: str) -> list[Any]:
        return [v for v in self.access.versions(self.access.client.models, name) if _is_ours(v)]

    def _versions_or_unknown(self, name: str) -> list[Any]:
        versions = self._versions(name)
        if not versions:
            ours = [n for n in self._names() if self._versions(n)]
            raise unknown_name("model", name, ours, REGISTER_HINT)
        return versions

    def _snapshot(self, asset: Any) -> Path:
        """The version's snapshot on this machine, downloaded from its path when not here yet."""
        digest = tagged_sha256(asset)
        if self.snapshots.path(digest).is_dir():
            return self.snapshots.path(digest)
        where = parse_datastore_uri(asset.path or "")
        if where is None:
            raise LlmopsError(f"model '{asset.name}' version {asset.version}: its path '{asset.path}' is not on a "
                              "datastore of the workspace, so llmops cannot download its flow")
        datastore_name, folder = where
        with self.access.errors():
            datastore = Datastore.open(self.access.client, self.access.login, datastore_name)
            return self.snapshots.filled(digest, lambda target: datastore.download_folder(folder, target),
                                         f"model '{asset.name}' version {asset.version} ({asset.path})")

    def _record(self, asset: Any, snapshot: Path, changed: bool = False) -> ModelVersion:
        return ModelVersion(asset.name, int(asset.version), tagged_sha256(asset), snapshot, _lineage(asset) or {},
                            registered_at(asset), changed)
