"""Managed and Kubernetes online endpoints: the same A/B rules, two shapes of endpoint and deployment.

A managed deployment runs on Azure ML's VMs (DEPLOYMENT_VM_SIZE x DEPLOYMENT_INSTANCE_COUNT); a
Kubernetes one runs on the cluster attached to the workspace as COMPUTE_NAME, each instance with
CPU_ALLOCATION and MEMORY_ALLOCATION as its requests and limits. Both take the endpoint's key, the
serving image's environment, the model version, ENVIRONMENT_VARIABLES, the probes of the endpoint
server's /health and the request settings of the env's block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmops.backends.targets import AZURE_MANAGED, KUBERNETES
from llmops.config.deployment_config import AzureOnlineEndpoint, KubernetesEndpoint
from llmops.errors import LlmopsError

DEFAULT_VM_SIZE = "Standard_DS3_v2"  # 4 vCPUs, 14 GB: Azure ML's smallest size it recommends for online serving
# The endpoint server answers /health once it listens; loading a flow takes seconds (prompt flow's imports).
LIVENESS = {"initial_delay": 30, "period": 10, "timeout": 5, "failure_threshold": 30, "success_threshold": 1}
READINESS = {"initial_delay": 10, "period": 10, "timeout": 5, "failure_threshold": 30, "success_threshold": 1}


def _settings(block: AzureOnlineEndpoint) -> dict[str, Any]:
    from azure.ai.ml.entities import OnlineRequestSettings, ProbeSettings

    return {
        "liveness_probe": ProbeSettings(**LIVENESS),
        "readiness_probe": ProbeSettings(**READINESS),
        "request_settings": OnlineRequestSettings(
            request_timeout_ms=block.REQUEST_TIMEOUT_MS,
            max_concurrent_requests_per_instance=block.MAX_CONCURRENT_REQUESTS_PER_INSTANCE),
    }


@dataclass(frozen=True)
class Flavor:
    kind: str  # the target's name, which is also its key in deployment_config.json
    described: str  # for messages: "managed online endpoint"
    # azure-ai-ml sends a Kubernetes endpoint's mirror traffic but never reads it back (its entity drops it), so a
    # mirror there could be neither shown nor kept by the next traffic change: llmops mirrors on managed ones only.
    mirrors: bool = True

    def check_mirror(self, mirror: dict[str, int], where: str) -> None:
        if not self.mirrors and any(mirror.values()):
            raise LlmopsError(f"{where}: mirror traffic is not available on a {self.described} (azure-ai-ml does not "
                              "read it back); leave MIRROR_TRAFFIC_ALLOCATION empty, or use azure_managed_endpoint")

    def check(self, block: AzureOnlineEndpoint, where: str) -> None:
        """What the env's block needs for this flavor, beyond what the config model checks."""
        self.check_mirror({block.CURRENT_DEPLOYMENT_NAME: block.mirror_share}, where)
        if self.kind == KUBERNETES and not (isinstance(block, KubernetesEndpoint) and block.COMPUTE_NAME.strip()):
            raise LlmopsError(f"{where}: COMPUTE_NAME is empty; set it to the Kubernetes compute attached to the "
                              "workspace (az ml compute list --type kubernetes -o table)")

    def endpoint(self, block: AzureOnlineEndpoint, tags: dict[str, str]) -> Any:
        from azure.ai.ml.entities import KubernetesOnlineEndpoint, ManagedOnlineEndpoint

        common: dict[str, Any] = {"name": block.ENDPOINT_NAME, "auth_mode": "key", "tags": tags,
                                  "description": block.ENDPOINT_DESC or None}
        if isinstance(block, KubernetesEndpoint):
            return KubernetesOnlineEndpoint(compute=block.COMPUTE_NAME.strip(), **common)
        return ManagedOnlineEndpoint(**common)

    def deployment(self, block: AzureOnlineEndpoint, name: str, model: str, environment: Any,
                   variables: dict[str, str], tags: dict[str, str]) -> Any:
        from azure.ai.ml.entities import (
            KubernetesOnlineDeployment,
            ManagedOnlineDeployment,
            ResourceRequirementsSettings,
            ResourceSettings,
        )

        common: dict[str, Any] = {
            "name": name, "endpoint_name": block.ENDPOINT_NAME, "model": model, "environment": environment,
            "description": block.DEPLOYMENT_DESC or None, "instance_count": block.DEPLOYMENT_INSTANCE_COUNT,
            "environment_variables": variables, "tags": tags, **_settings(block),
        }
        if isinstance(block, KubernetesEndpoint):
            cpu, memory = block.CPU_ALLOCATION.strip() or None, block.MEMORY_ALLOCATION.strip() or None
            resources = None
            if cpu or memory:  # requests and limits alike: an instance gets what it asks for, and no more
                resources = ResourceRequirementsSettings(requests=ResourceSettings(cpu=cpu, memory=memory),
                                                         limits=ResourceSettings(cpu=cpu, memory=memory))
            return KubernetesOnlineDeployment(resources=resources,
                                              instance_type=block.DEPLOYMENT_VM_SIZE.strip() or None, **common)
        return ManagedOnlineDeployment(instance_type=block.DEPLOYMENT_VM_SIZE.strip() or DEFAULT_VM_SIZE, **common)


FLAVORS = {AZURE_MANAGED: Flavor(AZURE_MANAGED, "managed online endpoint"),
           KUBERNETES: Flavor(KUBERNETES, "Kubernetes online endpoint", mirrors=False)}
