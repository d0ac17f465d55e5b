"""The one workspace the emulator hosts, and the ARM ids of what lives in it."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ServiceError, not_found
from .routing import PROVIDER


@dataclass(frozen=True)
class Scope:
    subscription: str = "00000000-0000-0000-0000-000000000000"
    resource_group: str = "llmops-rg"
    workspace: str = "llmops-ws"
    location: str = "westeurope"
    key_vault: str = "llmops-kv"

    @property
    def workspace_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}/providers/{PROVIDER}"
            f"/workspaces/{self.workspace}"
        )

    def resource_id(self, *segments: str) -> str:
        """The ARM id of a workspace resource: resource_id("data", "d", "versions", "1")."""
        return "/".join((self.workspace_id, *segments))

    def check(self, params: dict[str, str]) -> None:
        """Answers as ARM does when a path names another subscription, resource group or workspace."""
        if params["subscription"].lower() != self.subscription.lower():
            raise ServiceError(
                404, "SubscriptionNotFound", f"The subscription '{params['subscription']}' could not be found."
            )
        if params["resource_group"].lower() != self.resource_group.lower():
            raise ServiceError(
                404, "ResourceGroupNotFound", f"Resource group '{params['resource_group']}' could not be found."
            )
        if params["workspace"].lower() != self.workspace.lower():
            raise not_found(f"{PROVIDER}/workspaces/{params['workspace']}", params["resource_group"])
