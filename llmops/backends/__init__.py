"""Backends: `local` (this machine, SQLite registry) and `azureml`, behind one small interface."""

from __future__ import annotations

from llmops.errors import LlmopsError


def require_local(use_case: str, env: str, backend: str) -> None:
    """This release runs every step on the local backend; say so plainly when an env asks for Azure ML."""
    if backend != "local":
        raise LlmopsError(
            f"use case '{use_case}', env '{env}': BACKEND is '{backend}', but this release runs steps on the "
            "local backend only; set \"BACKEND\": \"local\" in llmops_config.json"
        )
