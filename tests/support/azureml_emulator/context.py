"""What every route handler works with: the workspace, its resources, operations, storage and faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .blob_storage import BlobStorage
from .faults import Faults
from .operations import Operations
from .routing import PROVIDER
from .scope import Scope
from .stores import ResourceStore

if TYPE_CHECKING:
    from .jobs.runner import JobRunner


@dataclass
class Context:
    scope: Scope
    storage: BlobStorage
    faults: Faults
    operations: Operations
    store: ResourceStore = field(default_factory=ResourceStore)
    base_url: str = ""  # set once the server listens
    jobs: JobRunner | None = None
    lro_retry_after: int = 1  # seconds the SDK waits between polls of an operation

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
