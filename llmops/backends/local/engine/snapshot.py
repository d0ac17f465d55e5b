"""A flow folder copied under the state directory once per content hash (content_hash.py)."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from llmops.backends.content_hash import flow_files, flow_hash
from llmops.backends.local.disk_full import full_disk_named


def materialize(folder: Path, snapshots_dir: Path) -> tuple[str, Path]:
    """Copy the flow into `snapshots_dir/<hash>/` once; runs execute from the copy, never the work tree.

    Several commands may materialize the same flow at once: each copies into a staging folder of its
    own and renames it into place in one step, so a snapshot is never seen half copied.
    """
    digest = flow_hash(folder)
    target = snapshots_dir / digest[:16]
    if (target / ".complete").is_file():
        return digest, target
    with full_disk_named(snapshots_dir):
        snapshots_dir.mkdir(parents=True, exist_ok=True)
        staging = _unique(snapshots_dir, f".{digest[:16]}", "tmp")
        try:
            for rel in flow_files(folder):
                (staging / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(folder / rel, staging / rel)
            (staging / ".complete").write_text(digest)
            _publish(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # gone already when the rename took it
    return digest, target


def _unique(parent: Path, stem: str, suffix: str) -> Path:
    """A new folder whose name no other process or thread picks."""
    folder = parent / f"{stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.{suffix}"
    folder.mkdir()
    return folder


def _publish(staging: Path, target: Path) -> None:
    """Rename `staging` to `target`; when another command got there first, its copy is the same files."""
    try:
        staging.rename(target)
        return
    except OSError:
        if (target / ".complete").is_file():
            return
    # A folder without the marker is what an older version left when interrupted: set it aside (one
    # step, so no other command is hurt) and take its place.
    aside = _unique(target.parent, f".{target.name}", "stale")
    try:
        target.replace(aside / "old")
    except OSError:
        pass  # another command set it aside first
    shutil.rmtree(aside, ignore_errors=True)
    try:
        staging.rename(target)
    except OSError:
        if not (target / ".complete").is_file():
            raise
