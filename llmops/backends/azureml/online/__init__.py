"""Azure ML online endpoints (managed and Kubernetes) as deployment targets: `open_online_target`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmops.backends.azureml.online.flavors import FLAVORS
from llmops.config.deployment_config import AzureOnlineEndpoint

if TYPE_CHECKING:
    from llmops.backends.azureml.access import WorkspaceAccess
    from llmops.backends.azureml.online.target import AzureOnlineTarget
    from llmops.backends.targets import ImageDigest


def open_online_target(access: WorkspaceAccess, kind: str, block: AzureOnlineEndpoint, use_case: str, env: str,
                       where: str, image_digest: ImageDigest) -> AzureOnlineTarget:
    from llmops.backends.azureml.online.target import AzureOnlineTarget

    return AzureOnlineTarget(access, FLAVORS[kind], block, use_case, env, where, image_digest)
