"""A flow folder as a content-addressed snapshot: files sorted by relative path, hash over paths and bytes."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

# Runtime folders prompt flow and Python write next to a flow; they are not part of the flow.
EXCLUDED_DIRS = {".promptflow", "__pycache__", ".runs", ".ipynb_checkpoints"}
EXCLUDED_SUFFIXES = (".pyc",)


def flow_files(folder: Path) -> list[Path]:
    files = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if any(part in EXCLUDED_DIRS for part in rel.parts) or not path.is_file():
            continue
        if path.name.endswith(EXCLUDED_SUFFIXES):
            continue
        files.append(rel)
    return sorted(files, key=lambda p: p.as_posix())


def flow_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for rel in flow_files(folder):
        digest.update(rel.as_posix().encode() + b"\0")
        digest.update(hashlib.sha256((folder / rel).read_bytes()).digest())
    return digest.hexdigest()


def materialize(folder: Path, snapshots_dir: Path) -> tuple[str, Path]:
    """Copy the flow into `snapshots_dir/<hash>/` once; runs execute from the copy, never the work tree."""
    digest = flow_hash(folder)
    target = snapshots_dir / digest[:16]
    if not (target / ".complete").is_file():
        staging = snapshots_dir / f".{digest[:16]}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        for rel in flow_files(folder):
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / rel, staging / rel)
        (staging / ".complete").write_text(digest)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return digest, target


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
