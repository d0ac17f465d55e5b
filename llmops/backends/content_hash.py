"""A flow folder or a data file by content: the hashes that key data versions, model versions and runs,
whichever backend keeps them. A flow's hash is over its files sorted by relative path, paths and bytes.
"""

from __future__ import annotations

import hashlib
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


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
