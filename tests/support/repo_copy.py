"""A temp copy of the repository's shipped use case(s), for end-to-end runs that must not touch the work tree."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def copy_use_case(target_root: Path, name: str = "web_classification") -> Path:
    source = REPO / "use_cases" / name
    destination = target_root / "use_cases" / name
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__", ".promptflow"))
    return destination
