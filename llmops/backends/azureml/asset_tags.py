"""What llmops writes on the data and model versions it registers in Azure ML, and reads back from them.

Tags are strings, shown and searchable in Azure ML studio, and editable later: they carry the key facts,
each kept short. What must stay as registered (a model's full lineage) goes in properties, which cannot
change once a version exists.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmops.git_state import git_state

SHA256 = "sha256"  # the tag holding the content hash a version is compared by
TAG_LIMIT = 256  # characters: the limit Azure puts on a tag's value elsewhere; a longer fact is cut, marked "..."


def tagged_sha256(asset: Any) -> str:
    return str((asset.tags or {}).get(SHA256, ""))


def tag(value: Any) -> str:
    text = str(value)
    return text if len(text) <= TAG_LIMIT else text[:TAG_LIMIT - 3] + "..."


def git_tags(root: Path, path: Path) -> dict[str, str]:
    """`git_commit` and `git_dirty` (the registered bytes differ from that commit); none outside a repository."""
    state = git_state(root, path)
    if state["commit"] is None:
        return {}
    return {"git_commit": state["commit"], "git_dirty": "true" if state["dirty"] else "false"}


def registered_at(asset: Any) -> str:
    """When Azure ML created the version, as the local registry writes it (UTC, to the second)."""
    created = getattr(getattr(asset, "creation_context", None), "created_at", None)
    if isinstance(created, datetime):
        stamp = created if created.tzinfo else created.replace(tzinfo=UTC)
        return stamp.astimezone(UTC).isoformat(timespec="seconds")
    return str(created or "")
