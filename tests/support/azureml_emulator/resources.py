"""The ARM envelope every resource answer carries: id, name, type and systemData."""

from __future__ import annotations

from typing import Any

from .operations import now
from .routing import PROVIDER
from .scope import Scope

CREATED_BY = "llmops-test@example.com"


def resource_type(segments: tuple[str, ...]) -> str:
    """workspaces/data/versions for ("data", "d", "versions", "1")."""
    return "/".join(("workspaces", *segments[0::2]))


def stamp(model: Any, scope: Scope, *segments: str, created: bool = True) -> Any:
    """Fills in what the service adds to a resource it stores; keeps createdAt on an update."""
    model["id"] = scope.resource_id(*segments)
    model["name"] = segments[-1]
    model["type"] = f"{PROVIDER}/{resource_type(segments)}"
    system = dict(model.get("systemData") or {}) if not created else {}
    stamp_time = now()
    system.setdefault("createdAt", stamp_time)
    system.setdefault("createdBy", CREATED_BY)
    system.setdefault("createdByType", "User")
    system.update(lastModifiedAt=stamp_time, lastModifiedBy=CREATED_BY, lastModifiedByType="User")
    model["systemData"] = system
    return model
