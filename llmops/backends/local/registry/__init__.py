"""The local registry: data, runs, models and endpoints in one SQLite database under the state directory
(db.py), model snapshots in its `models/` folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llmops.backends.local.registry.data import LocalDataRegistry
from llmops.backends.local.registry.endpoints import LocalEndpointRegistry
from llmops.backends.local.registry.models import LocalModelRegistry
from llmops.backends.local.registry.runs import LocalRunRegistry


@dataclass(frozen=True)
class LocalRegistry:
    """The Registry protocol (llmops/backends/protocols.py) on one state directory."""

    data: LocalDataRegistry
    runs: LocalRunRegistry
    models: LocalModelRegistry
    endpoints: LocalEndpointRegistry

    @classmethod
    def at(cls, state_dir: Path) -> LocalRegistry:
        return cls(LocalDataRegistry(state_dir), LocalRunRegistry(state_dir), LocalModelRegistry(state_dir),
                   LocalEndpointRegistry(state_dir))
