"""Which deployment target a command acts on, its block of deployment_config.json, and the target itself.

One rule for every command (deploy, test-endpoint, endpoint status/traffic/rollback) and for the CD workflow's
read-deploy-target action: `--target` names one of local, azure_managed, kubernetes, webapp (the block keys of
deployment_config.json without "_endpoint"), or `auto` (the default) takes the env's target as
DeploymentConfig.target_for reads it: local unless only an Azure block names the env.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmops.backends import open_cloud_target
from llmops.backends.protocols import Backend
from llmops.backends.targets import LOCAL, WEBAPP, DeploymentTarget, config_key
from llmops.backends.types import ModelVersion
from llmops.backends.webapp_target import open_webapp
from llmops.config.deployment_config import DEPLOYMENT_TARGETS, AzureOnlineEndpoint, OnlineEndpoint, WebAppEndpoint
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError, UsageError
from llmops.serving.endpoint_config import local_endpoint
from llmops.serving.endpoint_key import EndpointKey
from llmops.serving.image.plan import planned_digest
from llmops.serving.local_target import LocalTarget

if TYPE_CHECKING:
    from llmops.backends.azureml.settings import AzureVariables

AUTO = "auto"
TARGET_CHOICES = (AUTO, *DEPLOYMENT_TARGETS)


def config_file(use_case: UseCase) -> str:
    return f"use_cases/{use_case.name}/configs/deployment_config.json"


def choose_target(use_case: UseCase, env: str, asked: str | None = None) -> str:
    """`asked` (None or auto: the env's target, local unless only an Azure block names it), checked."""
    if asked is not None and asked != AUTO:
        if asked not in DEPLOYMENT_TARGETS:
            raise UsageError(f"deploy target '{asked}' is not known; valid: {', '.join(TARGET_CHOICES)}")
        return asked
    use_case.env(env)  # an unknown env is reported as such, with the valid names
    try:
        return use_case.deployment.target_for(env)
    except LlmopsError as error:
        raise LlmopsError(f"{config_file(use_case)}: {error}") from None


def where(use_case: UseCase, env: str, kind: str) -> str:
    return f"{config_file(use_case)}: {config_key(kind)} for env '{env}'"


def target_block(use_case: UseCase, env: str, kind: str) -> OnlineEndpoint | WebAppEndpoint:
    if kind == LOCAL:
        return local_endpoint(use_case, env)
    use_case.env(env)
    block = use_case.deployment.for_env(kind, env)
    if kind == WEBAPP:
        if not isinstance(block, WebAppEndpoint):
            raise LlmopsError(f"{config_file(use_case)}: webapp_endpoint has no entry for env '{env}'; add one (the "
                              "README's web app section shows one)")
        return block
    if not isinstance(block, AzureOnlineEndpoint) or not block.ENDPOINT_NAME or not block.CURRENT_DEPLOYMENT_NAME:
        raise LlmopsError(f"{config_file(use_case)} has no {config_key(kind)} block for env '{env}' with "
                          "ENDPOINT_NAME and CURRENT_DEPLOYMENT_NAME; add one (the README's Azure deployment section "
                          "shows one)")
    return block


def open_target(workspace: Workspace, use_case: UseCase, env: str, kind: str, backend: Backend,
                key: EndpointKey | None = None, azure: AzureVariables | None = None) -> DeploymentTarget:
    """`key`: the local endpoint's (resolve_key); an Azure endpoint's key is read from Azure when needed. `azure`: the
    Azure variables the CLI edge read (azure_edge), which a web app needs whatever the env's BACKEND."""
    block = target_block(use_case, env, kind)

    digests: dict[tuple[str, int, str], str] = {}  # a deploy names the image more than once: one context written

    def image_digest(model: ModelVersion) -> str:  # the image `llmops image build` makes of the version, by default
        key = (model.name, model.version, model.sha256)
        if key not in digests:
            digests[key] = planned_digest(workspace, use_case, env, model)
        return digests[key]

    if kind == WEBAPP:
        return open_webapp(use_case, env, image_digest, azure)
    if kind == LOCAL:
        return LocalTarget(workspace.state_dir, use_case.name, env, local_endpoint(use_case, env),
                           backend.registry.endpoints, key)
    assert isinstance(block, AzureOnlineEndpoint)
    return open_cloud_target(backend, kind, block, env, where(use_case, env, kind), image_digest)
