"""Step: register every dataset of an env; a new version only when its bytes changed."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from llmops.backends import open_backend
from llmops.backends.protocols import Backend
from llmops.backends.types import DataVersion
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace


@dataclass(frozen=True)
class RegisterDataResult:
    versions: list[DataVersion]

    def to_dict(self) -> dict[str, Any]:
        return {"versions": [asdict(v) for v in self.versions]}


def register_data(workspace: Workspace, use_case: UseCase, env: str,
                  backend: Backend | None = None) -> RegisterDataResult:
    data = (backend or open_backend(workspace, use_case, env)).registry.data
    versions = []
    for ds in use_case.data.for_env(env):
        path = use_case.path(ds.DATA_PATH)
        versions.append(data.register(ds.DATASET_NAME, path, ds.DATASET_DESC, workspace.shown(path)))
    return RegisterDataResult(versions=versions)
