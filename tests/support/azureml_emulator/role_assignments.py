"""Every role assignment the emulator holds, at any scope (the workspace, its key vault, a container registry), in one
store: the authorization routes write and list it, and the services that check a right read it (a web app's slot
pulls its image only when its identity holds AcrPull on the registry).

As in ARM: an assignment applies at its scope and everything below it (a resource group's covers its registries);
the same role for the same principal at the same scope under another name is a 409 RoleAssignmentExists.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from .errors import ServiceError

Assignment = dict[str, str]  # scope, name, principalId, roleDefinitionId (an ARM role definition id)


def _below(resource: str, scope: str) -> bool:
    """Whether `resource` is `scope` or inside it."""
    resource, scope = resource.lower().rstrip("/"), scope.lower().rstrip("/")
    return resource == scope or resource.startswith(scope + "/")


class RoleAssignments:
    def __init__(self) -> None:
        self._items: list[Assignment] = []
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[Assignment]:
        with self._lock:
            return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def put(self, scope: str, name: str, principal_id: str, role_definition_id: str) -> tuple[Assignment, bool]:
        """(the assignment, whether it is new); the same one under another name is a 409."""
        new = {"scope": scope, "name": name, "principalId": principal_id, "roleDefinitionId": role_definition_id}
        with self._lock:
            for existing in self._items:
                same = (existing["scope"].lower(), existing["principalId"], existing["roleDefinitionId"].lower()) == (
                    scope.lower(), principal_id, role_definition_id.lower())
                if same and existing["name"] != name:
                    raise ServiceError(409, "RoleAssignmentExists", "The role assignment already exists.")
                if same:
                    return existing, False
            self._items.append(new)
        return new, True

    def applying(self, resource: str, principal_id: str | None = None) -> list[Assignment]:
        """The assignments that apply at `resource` (made there or above), for one principal when given."""
        return [a for a in self if _below(resource, a["scope"]) and principal_id in (None, a["principalId"])]

    def holds(self, principal_id: str, resource: str, role_id: str) -> bool:
        """Whether `principal_id` holds the role (its definition's GUID) at `resource`."""
        return any(a["roleDefinitionId"].lower().rstrip("/").endswith("/" + role_id.lower())
                   for a in self.applying(resource, principal_id))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
