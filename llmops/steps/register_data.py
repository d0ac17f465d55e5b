"""Step: register every dataset of an env; a new version only when its bytes changed."""

from __future__ import annotations

from dataclasses import dataclass

from llmops.backends import require_local
from llmops.backends.local.registry import data as data_registry
from llmops.backends.local.registry.data import DataVersion
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace


@dataclass(frozen=True)
class RegisterDataResult:
    versions: list[DataVersion]


def register_data(workspace: Workspace, use_case: UseCase, env: str) -> RegisterDataResult:
    require_local(use_case.name, env, use_case.env(env).BACKEND)
    versions = []
    for ds in use_case.data.for_env(env):
        path = use_case.path(ds.DATA_PATH)
        versions.append(data_registry.register(workspace.state_dir, ds.DATASET_NAME, path, ds.DATASET_DESC,
                                               workspace.shown(path)))
    return RegisterDataResult(versions=versions)
