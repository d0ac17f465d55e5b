"""The serving image of a model version, and the Azure ML environment that points a deployment at it.

One image per model version: the llmops endpoint server plus the version's flow snapshot. Its name is
`<registry>/<use case>:<model version>-<hash>`, the hash being the snapshot's, so the tag changes exactly
when what it serves changes. The registry is the workspace's own container registry, which the
workspace's deployments may pull from without any further role. (`llmops image build` builds and pushes
that image; this is the one place its name is made.)
"""

from __future__ import annotations

import re
from typing import Any

from llmops.backends.types import ModelVersion

SERVING_PORT = 8080  # where the endpoint server in the image listens
HEALTH_PATH = "/health"
SCORE_PATH = "/score"
HASH_LENGTH = 12


def registry_server(container_registry_id: str, suffix: str = "azurecr.io") -> str:
    """`/subscriptions/.../registries/llmopsws` -> `llmopsws.azurecr.io`."""
    return f"{container_registry_id.rstrip('/').rsplit('/', 1)[-1].lower()}.{suffix}"


def repository(use_case: str) -> str:
    """A use case's name as an image repository: lower case, only what a repository name may hold."""
    return re.sub(r"[^a-z0-9._-]+", "-", use_case.lower()).strip("-._") or "flow"


def image_tag(model: ModelVersion) -> str:
    return f"{model.version}-{model.sha256[:HASH_LENGTH]}"


def serving_image(registry: str, use_case: str, model: ModelVersion) -> str:
    return f"{registry}/{repository(use_case)}:{image_tag(model)}"


def serving_environment(registry: str, use_case: str, model: ModelVersion) -> Any:
    """The Azure ML environment of the model version's image: its routes are the endpoint server's."""
    from azure.ai.ml.entities import Environment

    route = {"port": SERVING_PORT, "path": HEALTH_PATH}
    return Environment(
        name=f"llmops-{repository(use_case)}", version=image_tag(model),
        image=serving_image(registry, use_case, model),
        description=f"llmops endpoint server serving model {model.name} version {model.version}",
        inference_config={"liveness_route": route, "readiness_route": route,
                          "scoring_route": {"port": SERVING_PORT, "path": SCORE_PATH}},
        tags={"llmops.model": f"{model.name}:{model.version}", "sha256": model.sha256},
    )
