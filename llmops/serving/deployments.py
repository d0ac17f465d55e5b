"""A deployment made runnable: its model version's snapshot, its variant applied, one runner (whatever the format).

Loaded deployments are cached by what they run (model version, variant, flow), so a traffic change
reuses the runners it already has and only a new release pays for a new prompt flow executor. A runner is
loaded here, off the server's event loop, and runs its synchronous nodes on the server's node pool.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from llmops.backends.endpoints import Deployment
from llmops.backends.local.engine.line_runner import LineRunner
from llmops.backends.local.engine.prepared_flow import prepare
from llmops.backends.local.engine.snapshot import materialize
from llmops.backends.local.registry import models as model_registry
from llmops.backends.types import ModelVersion
from llmops.errors import LlmopsError
from llmops.serving.flow_inputs import FlowInput, declared_inputs
from llmops.serving.model_flow import model_flow

if TYPE_CHECKING:
    from llmops.llm.session import LlmSession

logger = logging.getLogger(__name__)
ModelLookup = Callable[[str, int], ModelVersion]  # (model name, version) -> the version, its snapshot on this machine


@dataclass(frozen=True)
class LoadedDeployment:
    record: Deployment
    runner: LineRunner | None  # None when it could not be loaded; `error` says why
    inputs: tuple[FlowInput, ...]  # as the flow declares them, to check each request against
    error: str | None = None


def _key(record: Deployment) -> tuple[Any, ...]:
    return (record.name, record.model_name, record.model_version, record.flow,
            tuple(sorted(record.variant.items())), tuple(sorted(record.env_vars.items())))


class DeploymentCache:
    """Loads deployments for one endpoint server; `session` is its LlmSession (the gateway routes), `node_pool`
    the threads every deployment's synchronous nodes share. `models` finds a deployment's model version: the
    local registry's by default; an image's server has its one snapshot instead."""

    def __init__(self, state_dir: Path, endpoint: str, session: LlmSession, node_pool: Executor,
                 models: ModelLookup | None = None) -> None:
        self.state_dir = state_dir
        self.endpoint = endpoint
        self.session = session
        self.node_pool = node_pool
        self._models = models or (lambda name, version: model_registry.get(state_dir, name, version))
        self._loaded: dict[tuple[Any, ...], LoadedDeployment] = {}
        self._env_owner: dict[str, tuple[str, str]] = {}  # variable -> (deployment, value)

    def load_all(self, records: tuple[Deployment, ...]) -> dict[str, LoadedDeployment]:
        keys = {_key(r): r for r in records}
        for stale in set(self._loaded) - set(keys):
            del self._loaded[stale]
        for key, record in keys.items():
            if key not in self._loaded:
                self._loaded[key] = self._load(record)
        return {r.name: self._loaded[_key(r)] for r in records}

    def _load(self, record: Deployment) -> LoadedDeployment:
        try:
            runner, inputs = self._runner(record)
        except (LlmopsError, OSError, KeyError, ValueError, yaml.YAMLError) as error:
            return self._failed(record, error)
        except Exception as error:  # prompt flow's own, when it builds the executor (a tool that cannot load)
            logger.debug("deployment %s could not be loaded", record.name, exc_info=True)
            return self._failed(record, error)
        logger.info("loaded deployment %s: model %s version %s, variant %s", record.name, record.model_name,
                    record.model_version, record.variant_label)
        return LoadedDeployment(record, runner, inputs)

    @staticmethod
    def _failed(record: Deployment, error: Exception) -> LoadedDeployment:
        message = (f"deployment '{record.name}' (model {record.model_name} version {record.model_version}) "
                   f"could not be loaded: {error}")
        logger.error(message)
        return LoadedDeployment(record, None, (), message)

    def _runner(self, record: Deployment) -> tuple[LineRunner, tuple[FlowInput, ...]]:
        model = self._models(record.model_name, record.model_version)
        if not model.snapshot.is_dir():
            raise LlmopsError(f"its snapshot folder '{model.snapshot}' is missing; register the model again")
        flow = model_flow(model)
        _, snapshot = materialize(model.snapshot, self.state_dir / "snapshots")
        self._apply_env(record)
        prepared = prepare(snapshot, flow.relative_file, record.variant, records=False)  # a request is no run
        connections = self.session.pf_connections(record.flow, f"endpoint:{self.endpoint}:{record.name}",
                                                  record.variant_label, prepared.connections)
        runner = prepared.runner(connections)
        runner.load()
        runner.use_node_pool(self.node_pool)
        return runner, declared_inputs(flow)

    def _apply_env(self, record: Deployment) -> None:
        """Deployments share one process, so their variables do too: a clash is refused at deploy time."""
        for name, value in record.env_vars.items():
            owner = self._env_owner.get(name)
            if owner is not None and owner[0] != record.name and owner[1] != value:
                logger.warning("deployment %s sets %s, which deployment %s set to another value; the newer wins",
                               record.name, name, owner[0])
            os.environ[name] = value
            self._env_owner[name] = (record.name, value)
