"""The emulator's REST routes, one module per family of resources; `register_all` adds them all."""

from __future__ import annotations

from ..context import Context
from ..routing import Router
from . import assets, datastores, endpoints, jobs, operations, run_history, workspace


def register_all(router: Router, context: Context) -> None:
    for module in (workspace, datastores, assets, jobs, run_history, endpoints, operations):
        module.register(router, context)
