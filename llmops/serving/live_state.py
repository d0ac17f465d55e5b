"""What a server serves right now: deployments and traffic, reloaded when the registry's counter moves.

A reload builds a new immutable snapshot off the event loop (loading a flow takes seconds) and swaps one
reference; a request keeps the snapshot it started with, so a traffic shift never fails a request in flight.
Requests that see the counter move wait for the reload, so a request sent after `llmops endpoint traffic`
returned is routed by the new map. The server is ready once the first snapshot is built.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

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


class DeploymentSource(Protocol):
    """What the app serves from: LiveState (the local registry), or any source of snapshots (one image's deployment)."""

    @property
    def ready(self) -> bool: ...

    def loaded(self) -> Snapshot | None: ...

    async def current(self) -> Snapshot: ...


class LiveState:
    def __init__(self, state_dir: Path, endpoint: str, session: LlmSession, node_pool: Executor,
                 seed: int | None = None) -> None:
        self.state_dir = state_dir
        self.endpoint = endpoint
        self._cache = DeploymentCache(state_dir, endpoint, session, node_pool)
        self._versions = endpoint_registry.VersionReader(state_dir, endpoint)
        self._seed = seed
        self._current: Snapshot | None = None
        self._reload_lock: asyncio.Lock | None = None  # made on the loop that serves

    @property
    def ready(self) -> bool:
        return self._current is not None

    def loaded(self) -> Snapshot | None:
        """The snapshot as it is, without reloading; None until the first load is done."""
        return self._current

    async def current(self) -> Snapshot:
        """The snapshot to serve a request with; loads or reloads first when the registry changed."""
        snapshot = self._current
        if snapshot is not None and self._versions.current() == snapshot.version:
            return snapshot
        if self._reload_lock is None:
            self._reload_lock = asyncio.Lock()
        async with self._reload_lock:  # one reload at a time; the requests waiting take its result
            if self._current is None or self._versions.current() != self._current.version:
                self._current = await asyncio.to_thread(self._build)
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
