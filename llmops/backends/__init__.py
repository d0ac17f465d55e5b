"""Backends: where state lives and where a step's lines run, behind two protocols (protocols.py).

`open_backend` is the one place that picks a backend by the env's BACKEND; steps get theirs from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmops.errors import LlmopsError

if TYPE_CHECKING:  # annotations only: importing the factory loads no backend and no config model
    from llmops.backends.protocols import Backend
    from llmops.config.use_case import UseCase
    from llmops.config.workspace import Workspace


def open_backend(workspace: Workspace, use_case: UseCase, env: str) -> Backend:
    """The backend the env's BACKEND (llmops_config.json) names, on this workspace."""
    backend = use_case.env(env).BACKEND
    if backend == "local":
        return default_backend(workspace)
    # An Azure ML backend plugs in here; until then this release says plainly what it runs.
    raise LlmopsError(
        f"use case '{use_case.name}', env '{env}': BACKEND is '{backend}', but this release runs steps on the "
        "local backend only; set \"BACKEND\": \"local\" in llmops_config.json"
    )


def default_backend(workspace: Workspace) -> Backend:
    """The backend of commands that name no env (`models list`, `connections`): local, the default BACKEND."""
    from llmops.backends.local import LocalBackend

    return LocalBackend.at(workspace.state_dir)
