"""The local endpoint as a deployment target (llmops/backends/targets.py): the env's endpoint registry and its
running server on loopback.

The server reloads when the registry changes, so a deployment is ready as soon as it is recorded. Its
deployments share one process, hence their environment variables: a clash is refused before anything
changes. A release that failed its smoke test is removed again (it costs nothing to make it anew).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops.backends.endpoints import Deployment, Endpoint, TrafficMap
from llmops.backends.protocols import EndpointRegistry
from llmops.backends.targets import LOCAL, ScoringReply
from llmops.backends.traffic import Split
from llmops.backends.types import ModelVersion
from llmops.config.deployment_config import LocalEndpoint
from llmops.errors import LlmopsError
from llmops.serving import process
from llmops.serving.client import score
from llmops.serving.endpoint_key import EndpointKey
from llmops.serving.server_log import request_detail


@dataclass
class LocalTarget:
    state_dir: Path
    use_case: str
    env: str
    block: LocalEndpoint
    endpoints: EndpointRegistry
    key: EndpointKey | None = field(default=None, repr=False)
    kind: str = field(default=LOCAL, init=False)
    removes_failed_release: bool = field(default=True, init=False)

    @property
    def endpoint(self) -> str:
        return self.block.ENDPOINT_NAME

    def deployment_name(self, model: ModelVersion) -> str:
        return self.block.CURRENT_DEPLOYMENT_NAME

    def scoring_url(self) -> str:
        return self._server().scoring_url

    def _server(self) -> process.ServerInfo:
        info = process.running(self.state_dir, self.endpoint)
        if info is None:
            raise LlmopsError(f"endpoint '{self.endpoint}' is not running; start it with: llmops endpoint up "
                              f"--use-case {self.use_case} --env {self.env}")
        return info

    def check(self) -> None:
        self._server()

    def open(self) -> tuple[Endpoint, list[str]]:
        self._server()
        return self.endpoints.get_endpoint(self.endpoint), []

    def state(self) -> Endpoint:
        return self.endpoints.get_endpoint(self.endpoint)

    def put_deployment(self, deployment: Deployment, model: ModelVersion) -> Deployment:
        _check_env_vars(self.state(), deployment)
        return self.endpoints.put_deployment(deployment)  # refuses a busy deployment atomically (DeploymentInUse)

    def score(self, deployment: str | None, inputs: Any) -> ScoringReply:
        url = self._server().scoring_url
        try:
            reply = score(url, inputs, deployment, key=self.key, probe=True)
        except OSError as error:
            return ScoringReply(0, None, f"no answer from {url}: {error}", 0.0)
        return ScoringReply(reply.status, reply.deployment, reply.body, reply.seconds, reply.request_id)

    def failure_detail(self, reply: ScoringReply) -> str | None:
        info = process.running(self.state_dir, self.endpoint)
        found = request_detail(Path(info.server_log), reply.request_id) if info and reply.request_id else None
        return f"server.log: {found}" if found else None

    def set_split(self, split: Split, reason: str) -> TrafficMap:
        return self.endpoints.set_split(self.endpoint, split, reason)

    def remove_deployment(self, name: str) -> None:
        self.endpoints.remove_deployment(self.endpoint, name)

    def rollback(self) -> tuple[TrafficMap, TrafficMap]:
        return self.endpoints.rollback(self.endpoint)

    def history(self) -> list[TrafficMap]:
        return self.endpoints.history(self.endpoint)


def _check_env_vars(endpoint: Endpoint, deployment: Deployment) -> None:
    """Deployments of one local endpoint share a process, hence its environment variables."""
    for other in endpoint.deployments:
        if other.name == deployment.name:
            continue
        for key, value in deployment.env_vars.items():
            if key in other.env_vars and other.env_vars[key] != value:
                raise LlmopsError(
                    f"ENVIRONMENT_VARIABLES: '{key}' is '{value}' for deployment '{deployment.name}' but "
                    f"'{other.env_vars[key]}' for deployment '{other.name}' of the same local endpoint, which "
                    "runs both in one process; use the same value"
                )
