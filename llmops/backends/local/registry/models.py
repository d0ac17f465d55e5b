"""Models in the local registry: a model version is a flow snapshot, new only when the flow's hash changed.

`<state>/models/<name>/<version>/` holds the flow files (sorted by relative path, runtime folders left
out; see content_hash.py); the `models` table holds that folder relative to the state directory, the hash,
and the lineage (git commit, data versions, runs, chosen variant, metrics) as JSON.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmops.backends.content_hash import flow_files, flow_hash
from llmops.backends.local.registry.db import connect, transaction
from llmops.backends.types import ModelVersion
from llmops.errors import NotFoundError, unknown_name


def model_dir(state_dir: Path, name: str, version: int) -> Path:
    return state_dir / "models" / name / str(version)


def _version(state_dir: Path, row: Any, changed: bool = False) -> ModelVersion:
    # The snapshot is found under this state directory, not at the path stored when it was registered:
    # a state directory carried to another checkout or runner (CI to CD) keeps working.
    return ModelVersion(row["name"], row["version"], row["sha256"], model_dir(state_dir, row["name"], row["version"]),
                        json.loads(row["lineage"]), row["registered_at"], changed)


def register(state_dir: Path, name: str, flow_folder: Path, lineage: dict[str, Any]) -> ModelVersion:
    """Register the flow folder as a new version of `name` unless a version with the same hash exists."""
    digest = flow_hash(flow_folder)
    # The write lock is held while the files are copied, so two commands never take the same version.
    with connect(state_dir) as conn, transaction(conn):
        row = conn.execute("SELECT * FROM models WHERE name=? AND sha256=? ORDER BY version DESC LIMIT 1",
                           (name, digest)).fetchone()
        if row is not None:
            return _version(state_dir, row)
        version = (conn.execute("SELECT MAX(version) FROM models WHERE name=?", (name,)).fetchone()[0] or 0) + 1
        target = model_dir(state_dir, name, version)
        _copy_flow(flow_folder, target)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        conn.execute("INSERT INTO models VALUES (?,?,?,?,?,?)",
                     (name, version, digest, target.relative_to(state_dir).as_posix(),
                      json.dumps(lineage, sort_keys=True, default=str), now))
    return ModelVersion(name, version, digest, target, lineage, now, changed=True)


def _copy_flow(folder: Path, target: Path) -> None:
    """Copy beside the target, then rename: a crash never leaves a half-copied version folder."""
    staging = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    for rel in flow_files(folder):
        (staging / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / rel, staging / rel)
    staging.mkdir(parents=True, exist_ok=True)  # a flow folder with no files still gets its folder
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def get(state_dir: Path, name: str, version: int | None = None) -> ModelVersion:
    """The given version of a model, or its latest; NotFoundError names what exists."""
    with connect(state_dir) as conn:
        if version is None:
            row = conn.execute("SELECT * FROM models WHERE name=? ORDER BY version DESC LIMIT 1", (name,)).fetchone()
        else:
            row = conn.execute("SELECT * FROM models WHERE name=? AND version=?", (name, version)).fetchone()
        if row is not None:
            return _version(state_dir, row)
        names = [r[0] for r in conn.execute("SELECT DISTINCT name FROM models")]
        versions = [str(r[0]) for r in conn.execute("SELECT version FROM models WHERE name=? ORDER BY version",
                                                    (name,))]
    if not versions:
        raise unknown_name("model", name, names, "Register it with: llmops register-model --use-case <name> "
                                                 "--env <env> (a model is named <use_case>_<env>)")
    raise NotFoundError(f"model '{name}' has no version {version}; versions: {', '.join(versions)}")


def list_versions(state_dir: Path, use_case: str | None = None) -> list[ModelVersion]:
    """Every version, by name then version; with `use_case`, those whose lineage names that use case."""
    with connect(state_dir) as conn:
        rows = conn.execute("SELECT * FROM models ORDER BY name, version").fetchall()
    versions = [_version(state_dir, r) for r in rows]
    return [v for v in versions if use_case is None or v.lineage.get("use_case") == use_case]


@dataclass(frozen=True)
class LocalModelRegistry:
    """The ModelRegistry protocol (llmops/backends/protocols.py) on the state directory."""

    state_dir: Path

    def register(self, name: str, flow_folder: Path, lineage: dict[str, Any]) -> ModelVersion:
        return register(self.state_dir, name, flow_folder, lineage)

    def get(self, name: str, version: int) -> ModelVersion:
        return get(self.state_dir, name, version)

    def latest(self, name: str) -> ModelVersion:
        return get(self.state_dir, name)

    def list_versions(self, use_case: str | None = None) -> list[ModelVersion]:
        return list_versions(self.state_dir, use_case)
