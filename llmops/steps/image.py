"""Step: the serving image of a registered model version, `llmops image build`.

Resolves the model version (the latest of `<use_case>_<env>` by default), writes its build context
(llmops/serving/image/plan.py), names the image `<registry>/<use case>:<version>-<content digest prefix>`,
and builds it (and pushes it, when asked) where a Docker engine answers. Where none does, the context is still
written and the result carries the exact `docker build`, `az acr build` and `docker push` commands for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops.backends import open_backend, workspace_registry
from llmops.backends.protocols import Backend
from llmops.backends.serving_image import ImageName, image_name
from llmops.backends.targets import AZURE_ML_TARGETS
from llmops.backends.types import ModelVersion
from llmops.config.deployment_config import WebAppEndpoint
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError
from llmops.llm.providers import check_profile
from llmops.serving.image import docker
from llmops.serving.image.context import BuildContext
from llmops.serving.image.entry import ImageEntry
from llmops.serving.image.plan import image_digest, image_entry, write_model_context
from llmops.serving.targets import choose_target

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageBuildResult:
    model: ModelVersion
    image: ImageName
    context: BuildContext
    entry: ImageEntry
    engine: bool  # a Docker engine answered `docker info`
    built: bool
    pushed: bool
    commands: dict[str, str]  # build; push with a registry; acr_build when it is an Azure Container Registry
    notes: list[str] = field(default_factory=list)
    builder: str = ""  # what built it: docker (the engine here), acr (az acr build, no engine), "" (nothing)

    def to_dict(self) -> dict[str, Any]:
        return {"use_case": self.entry.use_case, "env": self.entry.env, "model": self.model.name,
                "model_version": self.model.version, "sha256": self.model.sha256, "image": self.image.reference,
                "registry": self.image.registry, "tag": self.image.tag, "context_dir": str(self.context.folder),
                "context_digest": self.context.digest, "context_files": self.context.files,
                "dockerfile": self.context.dockerfile_source, "endpoint": self.entry.endpoint,
                "deployment": self.entry.deployment, "variant": self.entry.variant,
                "variant_label": self.entry.variant_label, "provider": self.entry.provider, "engine": self.engine,
                "built": self.built, "pushed": self.pushed, "builder": self.builder, "commands": self.commands,
                "notes": self.notes}


def _model(backend: Backend, use_case: UseCase, env: str, version: int | None) -> ModelVersion:
    name = f"{use_case.name}_{env}"  # register-model's name for the env's standard flow
    versions = sorted(v.version for v in backend.registry.models.list_versions(use_case.name) if v.name == name)
    if not versions:
        raise LlmopsError(f"use case '{use_case.name}' has no model registered for env '{env}' (model '{name}'); "
                          f"register one first: llmops register-model --use-case {use_case.name} --env {env}")
    if version is not None and version not in versions:
        raise LlmopsError(f"model '{name}' has no version {version}; versions: {', '.join(map(str, versions))}")
    return backend.registry.models.get(name, version if version is not None else versions[-1])


def _registry(use_case: UseCase, env: str, registry: str | None, kind: str, backend: Backend) -> tuple[str, str]:
    """(registry, its resource group): --registry; else, for an Azure ML target, the workspace's own container registry
    (where its online deployments pull from); else REGISTRY_NAME of the env's webapp_endpoint block."""
    block = use_case.deployment.for_env("webapp", env)
    group = block.REGISTRY_RG_NAME if isinstance(block, WebAppEndpoint) else ""
    if registry is not None:
        return registry, group
    if kind in AZURE_ML_TARGETS:
        return workspace_registry(backend, env)
    if isinstance(block, WebAppEndpoint) and block.REGISTRY_NAME:
        return block.REGISTRY_NAME, block.REGISTRY_RG_NAME
    return "", ""


def build_image(workspace: Workspace, use_case: UseCase, env: str, *, model_version: int | None = None,
                push: bool = False, context_dir: Path | None = None, registry: str | None = None,
                provider: str | None = None, backend: Backend | None = None,
                engine: bool | None = None, target: str | None = None) -> ImageBuildResult:
    """`engine` None asks `docker info`; `provider` None takes the env's PROVIDER (replay puts the flow's
    cassettes in the image); `target` (None or auto: the env's, as deploy chooses it) decides the default registry."""
    use_case.env(env)  # an unknown env is reported as such, with the valid names
    if provider is not None:
        check_profile(provider)
    kind = choose_target(use_case, env, target)
    backend = backend or open_backend(workspace, use_case, env)
    registry_name, resource_group = _registry(use_case, env, registry, kind, backend)
    if push and not registry_name:
        raise LlmopsError(f"--push needs a registry: set REGISTRY_NAME of the webapp_endpoint block for env '{env}' in "
                         f"use_cases/{use_case.name}/configs/deployment_config.json, or pass --registry NAME")
    model = _model(backend, use_case, env, model_version)
    entry = image_entry(use_case, env, model, provider)
    repository = image_name(registry_name, use_case.name, model.version, "").repository
    # Written first, then named by its digest: the default folder is per version and provider, the tag per content.
    folder = context_dir or workspace.state_dir / "images" / repository / f"{model.version}-{entry.provider}"
    context = write_model_context(workspace, use_case, entry, model, folder)
    image = image_name(registry_name, use_case.name, model.version, image_digest(context.folder))
    commands = {"build": docker.shown(docker.build_command(context.folder, image))}
    if registry_name:  # an image named for this machine only has nowhere to go
        commands["push"] = docker.shown(docker.push_command(image))
    acr = docker.acr_build_command(context.folder, image, resource_group)
    if acr is not None:
        commands["acr_build"] = docker.shown(acr)
    notes = [] if registry_name else [
        f"no registry configured: the image is named for this machine only; set REGISTRY_NAME of the webapp_endpoint "
        f"block for env '{env}' (or pass --registry NAME) to push it or build it in Azure Container Registry"]
    has_engine = docker.engine_available() if engine is None else engine
    builder = _build_and_push(image, context, push, has_engine, commands, acr)
    return ImageBuildResult(model, image, context, entry, has_engine, bool(builder), push and bool(builder), commands,
                            notes, builder)


def _build_and_push(image: ImageName, context: BuildContext, push: bool, has_engine: bool,
                    commands: dict[str, str], acr: list[str] | None) -> str:
    """Build (and push when asked) with the engine, else with `az acr build` when pushing; returns what built it
    ("docker", "acr") or "" when nothing did (no engine, no push: the commands are the result)."""
    if has_engine:
        docker.run(docker.build_command(context.folder, image))
        if push:
            login = docker.acr_login_command(image)
            if login is not None and docker.az_available():  # else docker's own credentials for the registry
                docker.run(login)
            docker.run(docker.push_command(image))
        return "docker"
    if not push:
        return ""
    if acr is not None and docker.az_available():  # no engine here: Azure Container Registry builds and pushes
        docker.run(acr)
        return "acr"
    why = ("the Azure CLI (az) is not installed for `az acr build`" if acr is not None
           else f"registry {image.registry} is not an Azure Container Registry, which could build it without one")
    instead = (f"run {commands['acr_build']} (or, where Docker runs, {commands['build']} && {commands['push']})"
               if acr is not None else f"where Docker runs, run {commands['build']} && {commands['push']}")
    raise LlmopsError(f"--push: no Docker engine answers here (docker info failed) and {why}, so {image.reference} "
                      f"was neither built nor pushed; its build context is written to {context.folder}: {instead}")

