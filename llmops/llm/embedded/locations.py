"""Where the embedded model files and the server records live.

Model files are big (up to 1.1 GB) and identical for every checkout, so they go to one per-user
cache shared by all checkouts; server records belong to one state directory (one checkout).
"""

from __future__ import annotations

import os
from pathlib import Path

MODELS_DIR_VARIABLE = "LLMOPS_MODELS_DIR"


def default_models_dir() -> Path:
    """`$LLMOPS_MODELS_DIR` if set, else `~/.cache/llmops/models`."""
    configured = os.environ.get(MODELS_DIR_VARIABLE, "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "llmops" / "models"


def resolve_models_dir(models_dir: Path | None) -> Path:
    return Path(models_dir) if models_dir is not None else default_models_dir()


def model_file(models_dir: Path, name: str) -> Path:
    return models_dir / f"{name}.gguf"


def server_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "embedded"


def server_record_file(state_dir: Path, name: str) -> Path:
    return server_dir(state_dir) / f"{name}.json"


def server_log_file(state_dir: Path, name: str) -> Path:
    return server_dir(state_dir) / f"{name}.log"
