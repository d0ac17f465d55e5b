"""What a server serves right now: deployments and traffic, reloaded when the registry's counter moves.

A reload builds a new immutable snapshot and swaps one reference; a request keeps the snapshot it
started with, so a traffic shift never fails a request in flight.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from llmops.backends.endpoints import Endpoint
from llmops.backends.local.registry import endpoints as endpoint_registry
from llmops.serving.deployments import DeploymentCache, LoadedDeployment
from llmops.serving.traffic import Router

if TYPE_CHECKING:
    from llmops.llm.session import LlmSession

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    version: int
    endpoint: Endpoint
    deployments: dict[str, LoadedDeployment]
    router: Router


class LiveState:
    def __init__(self, state_dir: Path, endpoint: str, session: LlmSession, seed: int | None = None) -> None:
        self.state_dir = state_dir
        self.endpoint = endpoint
        self._cache = DeploymentCache(state_dir, endpoint, session)
        self._versions = endpoint_registry.VersionReader(state_dir, endpoint)
        self._seed = seed
        self._reload_lock = threading.Lock()
        self._current = self._build()

    def current(self) -> Snapshot:
        """The snapshot to serve a request with; reloads first when the registry changed."""
        snapshot = self._current
        if self._versions.current() == snapshot.version:
            return snapshot
        with self._reload_lock:  # one thread reloads; the others wait and take its result
            if self._versions.current() != self._current.version:
                self._current = self._build()
            return self._current

    def _build(self) -> Snapshot:
        endpoint = endpoint_registry.get_endpoint(self.state_dir, self.endpoint)
        deployments = self._cache.load_all(endpoint.deployments)
        # A fixed seed makes the draws of a test reproducible; each new map gets its own sequence.
        seed = None if self._seed is None else self._seed + endpoint.version
        logger.info("serving endpoint %s version %d: %s", endpoint.name, endpoint.version, endpoint.split.describe())
        return Snapshot(endpoint.version, endpoint, deployments, Router(endpoint.split, seed))

    def close(self) -> None:
        self._versions.close()
