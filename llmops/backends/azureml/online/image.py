"""The Azure ML environment that points a deployment at the model version's serving image.

One image per model version: the llmops endpoint server plus the version's flow snapshot, named by
llmops.backends.serving_image (as `llmops image build` tags and pushes it) in the workspace's own container
registry, which the workspace's deployments may pull from without any further role.
"""

from __future__ import annotations

from typing import Any

from llmops.backends.serving_image import ImageName, image_name
from llmops.backends.types import ModelVersion

SERVING_PORT = 8080  # where the endpoint server in the image listens
HEALTH_PATH = "/health"
SCORE_PATH = "/score"


def workspace_image(container_registry_id: str, use_case: str, model: ModelVersion, content_digest: str) -> ImageName:
    """The image in the workspace's registry (`/subscriptions/.../registries/llmopsws` -> llmopsws.azurecr.io)."""
    registry = container_registry_id.rstrip("/").rsplit("/", 1)[-1]
    return image_name(registry, use_case, model.version, content_digest)


# How Azure ML says a deployment's container image could not be pulled (its troubleshooting guide's BadArgument
# "Unable to download user container image"; a pull's own words otherwise).
_PULL_FAILURES = ("unable to download user container image", "manifest unknown", "failed to pull image",
                  "image not found")


def image_not_pulled(message: str, image: ImageName) -> bool:
    """Whether a failed deployment's message says its image could not be pulled (never pushed, or pushed elsewhere)."""
    text = message.lower()
    return any(phrase in text for phrase in _PULL_FAILURES) or (
        image.reference.lower() in text and "pull" in text)


def serving_environment(image: ImageName, model: ModelVersion) -> Any:
    """The Azure ML environment of the model version's image: its routes are the endpoint server's."""
    from azure.ai.ml.entities import Environment

    route = {"port": SERVING_PORT, "path": HEALTH_PATH}
    return Environment(
        name=f"llmops-{image.repository}", version=image.tag, image=image.reference,
        description=f"llmops endpoint server serving model {model.name} version {model.version}",
        inference_config={"liveness_route": route, "readiness_route": route,
                          "scoring_route": {"port": SERVING_PORT, "path": SCORE_PATH}},
        tags={"llmops.model": f"{model.name}:{model.version}", "sha256": model.sha256},
    )
