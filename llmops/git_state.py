"""The git commit a file or folder of the repository comes from, and whether it differs from that commit.

Registered versions carry it (a model's lineage, a data asset's tags) so a version can be traced to the code
and data that made it; "dirty" says the registered bytes are not the commit's.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any


def git_state(root: Path, path: Path) -> dict[str, Any]:
    """{"commit": HEAD or None outside a repository, "dirty": whether `path` has uncommitted changes (or None)}."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    changes = git("status", "--porcelain", "--", str(path))
    return {"commit": commit, "dirty": bool(changes)}
