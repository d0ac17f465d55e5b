"""Datasets in the local registry: a new version only when the bytes changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from llmops.backends.content_hash import file_sha256
from llmops.backends.local.registry.db import connect, transaction
from llmops.backends.types import DataVersion
from llmops.config.jsonl import read_objects


def register(state_dir: Path, name: str, path: Path, description: str, shown_path: str) -> DataVersion:
    """`shown_path` is what the record keeps (relative to the repository, so it means the same on any checkout)."""
    digest = file_sha256(path)
    rows = len(read_objects(path))  # a file that no step could read is refused here, naming its bad lines
    with connect(state_dir) as conn, transaction(conn):
        row = conn.execute("SELECT * FROM datasets WHERE name=? AND sha256=? ORDER BY version DESC LIMIT 1",
                           (name, digest)).fetchone()
        if row is not None:
            return DataVersion(row["name"], row["version"], row["sha256"], row["path"], row["description"],
                               row["rows"], row["registered_at"], changed=False)
        latest = conn.execute("SELECT MAX(version) FROM datasets WHERE name=?", (name,)).fetchone()[0] or 0
        now = datetime.now(UTC).isoformat(timespec="seconds")
        conn.execute("INSERT INTO datasets VALUES (?,?,?,?,?,?,?)",
                     (name, latest + 1, digest, shown_path, description, rows, now))
        return DataVersion(name, latest + 1, digest, shown_path, description, rows, now, changed=True)


def current_version(state_dir: Path, name: str, path: Path) -> DataVersion | None:
    """The registered version for the file's current bytes, or None when not registered."""
    digest = file_sha256(path)
    with connect(state_dir) as conn:
        row = conn.execute("SELECT * FROM datasets WHERE name=? AND sha256=? ORDER BY version DESC LIMIT 1",
                           (name, digest)).fetchone()
    if row is None:
        return None
    return DataVersion(row["name"], row["version"], row["sha256"], row["path"], row["description"], row["rows"],
                       row["registered_at"], changed=False)


def list_versions(state_dir: Path, name: str | None = None) -> list[DataVersion]:
    with connect(state_dir) as conn:
        rows = conn.execute("SELECT * FROM datasets WHERE (? IS NULL OR name=?) ORDER BY name, version",
                            (name, name)).fetchall()
    return [DataVersion(r["name"], r["version"], r["sha256"], r["path"], r["description"], r["rows"],
                        r["registered_at"], changed=False) for r in rows]


@dataclass(frozen=True)
class LocalDataRegistry:
    """The DataRegistry protocol (llmops/backends/protocols.py) on the state directory's database."""

    state_dir: Path

    def register(self, name: str, path: Path, description: str, shown_path: str) -> DataVersion:
        return register(self.state_dir, name, path, description, shown_path)

    def current_version(self, name: str, path: Path) -> DataVersion | None:
        return current_version(self.state_dir, name, path)

    def list_versions(self, name: str | None = None) -> list[DataVersion]:
        return list_versions(self.state_dir, name)
