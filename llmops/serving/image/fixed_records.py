"""Where an image's server takes its deployments from: one deployment of one model version, at 100%, fixed.

The local endpoint server reads deployments and traffic from the local registry (live_state.RegistryRecords); an
image has no registry: it is one deployment, and the platform in front of it (an Azure ML endpoint, a web app's
slots, the emulator) splits traffic between images. So the records never change, and a deployment that cannot
load stops the server (`fixed`): no later deploy could mend it.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmops.backends.endpoints import Deployment, Endpoint, TrafficMap
from llmops.backends.traffic import Split
from llmops.backends.types import ModelVersion
from llmops.errors import LlmopsError

VERSION = 1


def one_deployment_endpoint(deployment: Deployment, use_case: str, env: str, provider: str) -> Endpoint:
    split = Split({deployment.name: 100}, {})
    return Endpoint(deployment.endpoint, use_case, env, provider, VERSION, (deployment,),
                    TrafficMap(VERSION, split, "the image's one deployment", False, ""))


@dataclass(frozen=True)
class FixedRecords:
    """live_state.DeploymentRecords for an image: `record` is its endpoint, `snapshot` its one model version."""

    record: Endpoint
    snapshot: ModelVersion
    fixed: bool = True

    def version(self) -> int:
        return VERSION

    def endpoint(self) -> Endpoint:
        return self.record

    def model(self, name: str, version: int) -> ModelVersion:
        if (name, version) != (self.snapshot.name, self.snapshot.version):
            raise LlmopsError(f"this image holds model {self.snapshot.name} version {self.snapshot.version}, "
                              f"not {name} version {version}")
        return self.snapshot

    def close(self) -> None:
        """Nothing to release: no registry was opened."""
