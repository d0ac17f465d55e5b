"""What a server serves right now: deployments and traffic, reloaded when their records change.

Where the records come from is a `DeploymentRecords`: the local registry (`RegistryRecords`, which a deploy or a
traffic change moves while the server runs) or one image's fixed deployment (image/fixed_records.py). Everything
else is the same for both. A reload builds a new immutable snapshot off the event loop (loading a flow takes
seconds) and swaps one reference; a request keeps the snapshot it started with, so a traffic shift never fails a
request in flight. Requests that see the records change wait for the reload, so a request sent after `llmops
endpoint traffic` returned is routed by the new map. The server is ready once the first snapshot is built.
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
from llmops.backends.local.registry import models as model_registry
from llmops.backends.types import ModelVersion
from llmops.errors import LlmopsError
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
    """What the app serves from: a LiveState, or anything else that hands out snapshots (the tests' scripted one)."""

    @property
    def ready(self) -> bool: ...

    def loaded(self) -> Snapshot | None: ...

    async def current(self) -> Snapshot: ...


class DeploymentRecords(Protocol):
    """Where a server's endpoint record (deployments, traffic) and its deployments' model versions come from."""

    @property
    def fixed(self) -> bool:
        """True when nothing can replace a deployment that fails to load (an image): then the server stops."""

    def version(self) -> int:
        """The records' change counter; asked on every request, so it must be cheap."""

    def endpoint(self) -> Endpoint:
        """The endpoint as recorded now (its `version` is the counter's)."""

    def model(self, name: str, version: int) -> ModelVersion: ...

    def close(self) -> None: ...


class RegistryRecords:
    """The local registry under the state directory: `llmops deploy` and `endpoint traffic` change it."""

    fixed = False

    def __init__(self, state_dir: Path, endpoint: str) -> None:
        self.state_dir = state_dir
        self.name = endpoint
        self._versions = endpoint_registry.VersionReader(state_dir, endpoint)

    def version(self) -> int:
        return self._versions.current()

    def endpoint(self) -> Endpoint:
        return endpoint_registry.get_endpoint(self.state_dir, self.name)

    def model(self, name: str, version: int) -> ModelVersion:
        return model_registry.get(self.state_dir, name, version)

    def close(self) -> None:
        self._versions.close()


class LiveState:
    def __init__(self, records: DeploymentRecords, state_dir: Path, endpoint: str, session: LlmSession,
                 node_pool: Executor, seed: int | None = None) -> None:
        self.state_dir = state_dir
        self.endpoint = endpoint
        self._records = records
        self._cache = DeploymentCache(state_dir, endpoint, session, node_pool, records.model)
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
        """The snapshot to serve a request with; loads or reloads first when the records changed."""
        snapshot = self._current
        if snapshot is not None and self._records.version() == snapshot.version:
            return snapshot
        if self._reload_lock is None:
            self._reload_lock = asyncio.Lock()
        async with self._reload_lock:  # one reload at a time; the requests waiting take its result
            if self._current is None or self._records.version() != self._current.version:
                self._current = await asyncio.to_thread(self._build)
            return self._current

    def _build(self) -> Snapshot:
        endpoint = self._records.endpoint()
        deployments = self._cache.load_all(endpoint.deployments)
        failed = [d.error or f"deployment '{name}' could not be loaded" for name, d in deployments.items()
                  if d.runner is None]
        if failed and self._records.fixed:  # no deploy can mend it: answering 500s to every request helps nobody
            raise LlmopsError("; ".join(failed))
        # A fixed seed makes the draws of a test reproducible; each new map gets its own sequence.
        seed = None if self._seed is None else self._seed + endpoint.version
        logger.info("serving endpoint %s version %d: %s", endpoint.name, endpoint.version, endpoint.split.describe())
        return Snapshot(endpoint.version, endpoint, deployments, Router(endpoint.split, seed))

    def close(self) -> None:
        self._records.close()
