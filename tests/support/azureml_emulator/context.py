"""What every route handler works with: the workspace, its resources, operations, storage and faults."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .blob_storage import BlobStorage
from .faults import Faults
from .key_vault import KeyVault
from .operations import Operations
from .quota import Quota
from .role_assignments import RoleAssignments
from .routing import PROVIDER
from .scope import Scope
from .stores import ResourceStore

if TYPE_CHECKING:
    from .jobs.runner import JobRunner
    from .online_serving import OnlineServing
    from .web_apps import WebApps

# The roles the emulator's identity holds on the workspace, as the permissions route reports them.
DEFAULT_ROLES = ("AzureML Data Scientist",)


@dataclass
class Context:
    scope: Scope
    storage: BlobStorage
    faults: Faults
    operations: Operations
    store: ResourceStore = field(default_factory=ResourceStore)
    base_url: str = ""  # set once the server listens
    jobs: JobRunner | None = None
    web_apps: WebApps | None = None  # App Service beside the workspace (web_apps.py)
    serving: OnlineServing | None = None  # online deployments' processes and the scoring URL
    role_assignments: RoleAssignments = field(default_factory=RoleAssignments)  # at every scope (role_assignments.py)
    lro_retry_after: int = 1  # seconds the SDK waits between polls of an operation
    identity_header: str = field(default_factory=lambda: secrets.token_hex(16))  # the managed identity's secret
    tokens_issued: list[str] = field(default_factory=list)  # resources the managed identity gave tokens for
    roles: list[str] = field(default_factory=lambda: list(DEFAULT_ROLES))
    quota: Quota = field(default_factory=Quota)
    key_vault: KeyVault = field(init=False)

    def __post_init__(self) -> None:
        self.key_vault = KeyVault(self.scope.key_vault)

    def operation_headers(self, operation_id: str, api_version: str) -> dict[str, str]:
        """The headers of a 201/202 that starts a long-running operation."""
        base = (
            f"{self.base_url}/subscriptions/{self.scope.subscription}/providers/{PROVIDER}"
            f"/locations/{self.scope.location}"
        )
        return {
            "Azure-AsyncOperation": f"{base}/mfeOperationsStatus/{operation_id}?api-version={api_version}",
            "Location": f"{base}/mfeOperationResults/{operation_id}?api-version={api_version}",
            "Retry-After": str(self.lro_retry_after),
            "x-ms-async-operation-timeout": "PT1H",
        }
