"""A working copy for a local workflow run: the repository's files copied to a folder of its own, so a
run's state (`.llmops/`, `reports/`, `.env`) never touches the developer's checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from llmops.errors import NotFoundError

# Never copied: tools and caches that are per machine, not part of a checkout.
SKIPPED_TOP_LEVEL = ("node_modules", ".venv", ".git", ".llmops", "reports")
INSTALLED_STAMP = ".installed"  # the Makefile's marker that `make install` has run


def repository_files(source: Path) -> list[str]:
    """What a checkout holds: in a git working copy, tracked files plus new files not ignored by .gitignore
    (work in progress); in a plain folder (a copy made earlier), its files minus per-machine ones."""
    if not source.is_dir():
        raise NotFoundError(f"'{source}' is not a folder; pass the repository root")
    done = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=source, capture_output=True, text=True,
                          check=False)
    if done.returncode == 0 and Path(done.stdout.strip()).resolve() == source.resolve():
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=source,
                                capture_output=True, text=True, check=True).stdout.split("\0")
    else:
        listed = [p.relative_to(source).as_posix() for p in source.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.name != ".env"]
    names = sorted({n for n in listed if n})
    return [n for n in names if n.split("/", 1)[0] not in SKIPPED_TOP_LEVEL and (source / n).is_file()]


def copy_repository(source: Path, destination: Path) -> Path:
    """Copy the checkout's files from `source` into `destination` (created; must be empty or absent)."""
    if destination.exists() and any(destination.iterdir()):
        raise NotFoundError(f"'{destination}' is not empty; give a new folder for the working copy")
    for name in repository_files(source):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, target, follow_symlinks=False)
    return destination


def link_venv(workspace: Path, venv: Path) -> Path:
    """Make `workspace/.venv` the given virtualenv, marked installed, as a restored cache would leave it.

    Its entries are symlinks to the real venv, so `make install` finds `.venv/.installed` newer than
    pyproject.toml and does nothing: no pip on this machine, the packages are the ones tested."""
    if not (venv / "bin" / "python").exists():
        raise NotFoundError(f"no virtualenv at '{venv}' (expected {venv}/bin/python); run 'make install' first")
    target = workspace / ".venv"
    target.mkdir(exist_ok=True)
    for entry in venv.iterdir():
        if entry.name == INSTALLED_STAMP:
            continue
        link = target / entry.name
        if not link.exists() and not link.is_symlink():
            os.symlink(entry.resolve(), link)
    (target / INSTALLED_STAMP).touch()
    return target
