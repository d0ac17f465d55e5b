"""Where an embedded model stands: installed, verified, running, and how fast it is on this machine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llmops.llm.embedded.assembly import is_verified
from llmops.llm.embedded.catalog import get_model
from llmops.llm.embedded.llama_server import embedded_server, find_running
from llmops.llm.embedded.locations import model_file, resolve_models_dir
from llmops.llm.embedded.speed import SpeedMeasurement, measure_speed


@dataclass(frozen=True)
class ModelStatus:
    name: str
    title: str
    license: str
    path: Path
    sha256: str  # the pin; an installed file is verified only when it hashes to this
    size_bytes: int
    installed: bool  # the file exists
    verified: bool  # its marker records the pinned sha256 for its current size and mtime
    running: bool  # a live server was recorded in the state directory before this call
    base_url: str | None
    pid: int | None
    speed: SpeedMeasurement | None  # None when not measured or not installed


def status(
    name: str, state_dir: Path | str, models_dir: Path | None = None, measure: bool = True
) -> ModelStatus:
    """The status of `name`. With `measure`, time a short fixed generation on a verified model: on the
    running server if there is one, else on a server started for the measurement and stopped after."""
    spec = get_model(name)
    path = model_file(resolve_models_dir(models_dir), spec.name)
    verified = is_verified(path, spec.sha256)
    running = find_running(spec.name, state_dir)
    speed = None
    if measure and verified:
        with embedded_server(spec.name, state_dir, models_dir) as base_url:
            speed = measure_speed(base_url)
    return ModelStatus(
        name=spec.name,
        title=spec.title,
        license=spec.license,
        path=path,
        sha256=spec.sha256,
        size_bytes=spec.size_bytes,
        installed=path.is_file(),
        verified=verified,
        running=running is not None,
        base_url=running.base_url if running else None,
        pid=running.pid if running else None,
        speed=speed,
    )
