"""The model version that serves users: found through the registry's endpoints, their traffic and the models.

Which endpoint counts as production for an env: the endpoint that deployment_config.json names for the env's
PRODUCTION_ENV (llmops_config.json) or, when that is empty, for the env itself when a deployment block names it,
else for `dev` (where the shipped use cases deploy: a pr env has no endpoint of its own). Of that endpoint's
deployments, production is the one taking the largest share of live traffic (the older one on a tie; mirrored
traffic does not count): its model version, with the variant it serves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from llmops.backends.endpoints import Deployment
from llmops.backends.protocols import Backend, Registry
from llmops.backends.types import ModelVersion
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError, NotFoundError

FALLBACK_ENV = "dev"


@dataclass(frozen=True)
class ProductionRelease:
    env: str
    endpoint: str
    deployment: Deployment
    share: int  # percent of live traffic
    model: ModelVersion

    def describe(self) -> str:
        return (f"model {self.model.name} version {self.model.version}, variant {self.deployment.variant_label} "
                f"(deployment {self.deployment.name} of endpoint {self.endpoint}, env {self.env}, "
                f"{self.share}% of live traffic)")

    @property
    def run_set_kind(self) -> str:
        """The kind under which the env remembers production's runs on its lines: names the release, so runs of an
        earlier release are never taken for this one's."""
        variant = json.dumps(self.deployment.variant, sort_keys=True, separators=(",", ":"))
        return f"production:{self.model.name}:{self.model.version}:{variant}"


def production_env(use_case: UseCase, env: str) -> str:
    named = use_case.env(env).PRODUCTION_ENV
    if named:
        use_case.env(named)  # an unknown env is refused, listing the known ones
        return named
    for candidate in (env, FALLBACK_ENV):
        if any(block.ENV_NAME == candidate for _, _, block in use_case.deployment.blocks()):
            return candidate
    raise LlmopsError(f"a gate of env '{env}' of use case '{use_case.name}' compares with production, but "
                      f"configs/deployment_config.json names no endpoint for '{env}' or '{FALLBACK_ENV}'; set "
                      f"PRODUCTION_ENV in llmops_config.json to the env whose endpoint serves users")


def endpoint_name(use_case: UseCase, env: str) -> str:
    target = use_case.deployment.target_for(env)
    block = use_case.deployment.for_env(target, env)
    name = str(getattr(block, "ENDPOINT_NAME", "") or getattr(block, "WEB_APP_NAME", ""))
    if not name:
        raise LlmopsError(f"configs/deployment_config.json: the {target}_endpoint block of env '{env}' names no "
                          "endpoint (ENDPOINT_NAME or WEB_APP_NAME); name the endpoint that serves users")
    return name


def find_release(use_case: UseCase, env: str, registry: Registry) -> ProductionRelease | str:
    """The release serving users for `env`'s gates, or why there is none (nothing deployed yet)."""
    prod_env = production_env(use_case, env)
    name = endpoint_name(use_case, prod_env)
    try:
        endpoint = registry.endpoints.get_endpoint(name)
    except NotFoundError:
        return f"nothing in production yet: endpoint '{name}' (env {prod_env}) does not exist"
    live = [(endpoint.split.share(d.name), d) for d in endpoint.deployments if endpoint.split.share(d.name) > 0]
    if not live:
        return f"nothing in production yet: endpoint '{name}' (env {prod_env}) sends no live traffic to a deployment"
    share, deployment = min(live, key=lambda item: (-item[0], item[1].created_at))
    model = registry.models.get(deployment.model_name, deployment.model_version)
    return ProductionRelease(prod_env, name, deployment, share, model)


def production_backend(workspace: Workspace, use_case: UseCase, env: str, backend: Backend) -> Backend:
    """The backend whose registry holds the production endpoint: the env's own unless PRODUCTION_ENV's differs."""
    prod_env = production_env(use_case, env)
    if use_case.env(prod_env).BACKEND == use_case.env(env).BACKEND:
        return backend
    from llmops.backends import open_backend

    return open_backend(workspace, use_case, prod_env)
