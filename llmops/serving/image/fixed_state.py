"""What an image's server serves: one deployment of one model version, at 100%, fixed when it starts.

The local endpoint server reloads deployments and traffic from the local registry (live_state.py); an image
has no registry: it is one deployment, and the platform in front of it (an Azure ML endpoint, a web app's
slots, the emulator) splits traffic between images. So the snapshot is built once and never changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from llmops.backends.endpoints import Deployment, Endpoint, TrafficMap
from llmops.backends.traffic import Split
from llmops.backends.types import ModelVersion
from llmops.errors import LlmopsError
from llmops.serving.deployments import DeploymentCache
from llmops.serving.live_state import LiveState, Snapshot
from llmops.serving.traffic import Router

if TYPE_CHECKING:
    from llmops.llm.session import LlmSession


def one_deployment_endpoint(deployment: Deployment, use_case: str, env: str, provider: str) -> Endpoint:
    split = Split({deployment.name: 100}, {})
    return Endpoint(deployment.endpoint, use_case, env, provider, 1, (deployment,),
                    TrafficMap(1, split, "the image's one deployment", False, ""))


class FixedState(LiveState):
    """A LiveState (what EndpointApp serves from) that never reloads: no registry behind it."""

    def __init__(self, state_dir: Path, endpoint: Endpoint, model: ModelVersion, session: LlmSession) -> None:
        # LiveState's own __init__ opens the local registry; there is none here, so it is not called.
        self.state_dir = state_dir
        self.endpoint = endpoint.name
        cache = DeploymentCache(state_dir, endpoint.name, session, models=lambda name, version: model)
        deployments = cache.load_all(endpoint.deployments)
        failed = [d.error for d in deployments.values() if d.runner is None]
        if failed:  # an image that cannot run its flow must not start and answer 500s
            raise LlmopsError("; ".join(e or "a deployment could not be loaded" for e in failed))
        for loaded in deployments.values():
            if loaded.runner is not None:
                loaded.runner.load()  # now, not on the first request: /health answers once the flow can run
        self._current = Snapshot(endpoint.version, endpoint, deployments, Router(endpoint.split, None))

    def current(self) -> Snapshot:
        return self._current

    def close(self) -> None:
        """Nothing to release: no registry was opened."""
