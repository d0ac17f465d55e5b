"""The env's `local_endpoint` block of deployment_config.json, required by every endpoint command."""

from __future__ import annotations

from llmops.config.deployment_config import LocalEndpoint
from llmops.config.use_case import UseCase
from llmops.errors import LlmopsError


def local_endpoint(use_case: UseCase, env: str) -> LocalEndpoint:
    use_case.env(env)  # an unknown env is reported as such, with the valid names
    block = use_case.deployment.for_env("local", env)
    if not isinstance(block, LocalEndpoint) or not block.ENDPOINT_NAME or not block.CURRENT_DEPLOYMENT_NAME:
        raise LlmopsError(
            f"use_cases/{use_case.name}/configs/deployment_config.json has no local_endpoint block for env '{env}' "
            "with ENDPOINT_NAME and CURRENT_DEPLOYMENT_NAME; add one (see use_cases/web_classification for an "
            "example)"
        )
    return block
