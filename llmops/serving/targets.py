"""Which deployment target a command acts on, its block of deployment_config.json, and the target itself.

`--target` names one (local, azure_managed_endpoint, kubernetes_endpoint); without it, the env's one Azure
ML block when it has exactly one, else local: the local endpoint stays the default when no Azure target is
configured for the env.
"""

from __future__ import annotations

from llmops.backends import open_cloud_target
from llmops.backends.protocols import Backend
from llmops.backends.targets import AZURE_ML_TARGETS, LOCAL, TARGETS, DeploymentTarget
from llmops.config.deployment_config import AzureOnlineEndpoint, OnlineEndpoint
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError, UsageError
from llmops.serving.endpoint_config import local_endpoint
from llmops.serving.endpoint_key import EndpointKey
from llmops.serving.local_target import LocalTarget


def config_key(kind: str) -> str:
    """The target's key in deployment_config.json."""
    return "local_endpoint" if kind == LOCAL else kind


def _configured(use_case: UseCase, env: str) -> list[str]:
    return [kind for kind in AZURE_ML_TARGETS if use_case.deployment.for_env(kind.removesuffix("_endpoint"), env)]


def choose_target(use_case: UseCase, env: str, target: str | None) -> str:
    if target is not None:
        if target not in TARGETS:
            raise UsageError(f"deploy target '{target}' is not known; valid: {', '.join(TARGETS)}")
        return target
    use_case.env(env)
    configured = _configured(use_case, env)
    if len(configured) > 1:
        raise UsageError(f"env '{env}' has blocks for {' and '.join(configured)} in deployment_config.json; say "
                         f"which with --target")
    return configured[0] if configured else LOCAL


def where(use_case: UseCase, env: str, kind: str) -> str:
    return f"use_cases/{use_case.name}/configs/deployment_config.json: {config_key(kind)} for env '{env}'"


def target_block(use_case: UseCase, env: str, kind: str) -> OnlineEndpoint:
    if kind == LOCAL:
        return local_endpoint(use_case, env)
    use_case.env(env)
    block = use_case.deployment.for_env(kind.removesuffix("_endpoint"), env)
    if not isinstance(block, AzureOnlineEndpoint) or not block.ENDPOINT_NAME or not block.CURRENT_DEPLOYMENT_NAME:
        raise LlmopsError(f"use_cases/{use_case.name}/configs/deployment_config.json has no {kind} block for env "
                          f"'{env}' with ENDPOINT_NAME and CURRENT_DEPLOYMENT_NAME; add one (the README's Azure "
                          "deployment section shows one)")
    return block


def open_target(workspace: Workspace, use_case: UseCase, env: str, kind: str, backend: Backend,
                key: EndpointKey | None = None) -> DeploymentTarget:
    """`key`: the local endpoint's (resolve_key); an Azure ML endpoint's key is read from Azure when needed."""
    block = target_block(use_case, env, kind)
    if kind == LOCAL:
        return LocalTarget(workspace.state_dir, use_case.name, env, local_endpoint(use_case, env),
                           backend.registry.endpoints, key)
    assert isinstance(block, AzureOnlineEndpoint)
    return open_cloud_target(backend, kind, block, env, where(use_case, env, kind))
