"""The local backend: a registry in the state directory (registry/) and prompt flow in process (engine/)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llmops.backends.local.engine.executor import LocalExecutor
from llmops.backends.local.registry import LocalRegistry


@dataclass(frozen=True)
class LocalBackend:
    """The Backend protocol (llmops/backends/protocols.py) on one state directory."""

    registry: LocalRegistry
    executor: LocalExecutor
    name: str = "local"

    @classmethod
    def at(cls, state_dir: Path) -> LocalBackend:
        registry = LocalRegistry.at(state_dir)
        return cls(registry, LocalExecutor(state_dir, registry.runs))
