"""Step: the registered model versions (flow snapshots) with their lineage, from the local registry or, for an
env whose BACKEND keeps them elsewhere (an Azure ML workspace), from that env's registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmops.backends import default_backend, open_backend
from llmops.backends.protocols import Backend
from llmops.backends.types import ModelVersion
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace
from llmops.errors import UsageError


@dataclass(frozen=True)
class ModelsResult:
    use_case: str | None
    versions: list[ModelVersion]

    def to_dict(self) -> dict[str, Any]:
        return {"use_case": self.use_case, "models": [v.to_dict() for v in self.versions]}


def describe(version: ModelVersion) -> str:
    git = version.lineage.get("git") or {}
    # A flow registered from a dirty tree is not the flow of that commit: say so wherever the commit shows.
    commit = (git.get("commit") or "unknown")[:8] + ("+uncommitted" if git.get("dirty") else "")
    return (f"{version.name} v{version.version}  sha256 {version.sha256[:12]}  {version.registered_at}  git {commit}  "
            f"variant {version.lineage.get('variant_label', 'defaults')}")


def list_models(workspace: Workspace, use_case: UseCase | None = None, env: str | None = None,
                backend: Backend | None = None) -> ModelsResult:
    """The versions of `use_case` (all use cases when None); with `env`, from the registry its BACKEND names."""
    if backend is None:
        if env is not None and use_case is None:
            raise UsageError("models list --env needs --use-case: the env is one of a use case's llmops_config.json")
        backend = open_backend(workspace, use_case, env) if use_case is not None and env else default_backend(workspace)
    name = use_case.name if use_case else None
    return ModelsResult(name, backend.registry.models.list_versions(name))
