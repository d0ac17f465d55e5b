"""The emulator's REST routes, one module per family of resources; `register_all` adds them all."""

from __future__ import annotations

from ..context import Context
from ..routing import Router
from . import (
    assets,
    authorization,
    datastores,
    endpoints,
    jobs,
    key_vault,
    managed_identity,
    operations,
    quota,
    run_history,
    webapps,
    workspace,
)

MODULES = (
    workspace,
    datastores,
    assets,
    jobs,
    run_history,
    endpoints,
    operations,
    authorization,
    quota,
    key_vault,
    managed_identity,
    webapps,
)


def register_all(router: Router, context: Context) -> None:
    for module in MODULES:
        module.register(router, context)
