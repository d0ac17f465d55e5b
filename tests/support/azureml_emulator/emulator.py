"""The Azure ML emulator: one workspace served over loopback HTTPS, with its blob store in Azurite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from azure.ai.ml import MLClient
from azure.core.credentials import TokenCredential

from .app import EmulatorApp, LoggedRequest
from .blob_storage import BlobStorage
from .context import DEFAULT_ROLES, Context
from .credential import FakeCredential
from .faults import Faults
from .jobs.runner import JobRunner
from .key_vault import RESOURCE as KEY_VAULT_RESOURCE
from .key_vault import KeyVault
from .online_serving import OnlineServing
from .operations import Operations
from .quota import Quota
from .routes import managed_identity, register_all
from .routes.datastores import seed_datastores
from .routes.workspace import seed_compute, seed_kubernetes
from .routing import Router
from .scope import Scope
from .server import LoopbackServer
from .stores import ResourceStore
from .web_apps import WebApps


class AzureMLEmulator:
    """Start with `AzureMLEmulator(storage, cert, key, work_dir)`; `stop()` when done.

    `ml_client()` gives a real MLClient whose every call lands here; `faults` arms failures;
    `store` holds the resources (REST models); `requests` logs what the client sent. Beside the
    workspace: a managed identity endpoint (`identity_environment()`), the identity's permissions
    (`context.roles`), the region's VM sizes and quota (`quota`) and the Key Vault (`key_vault`). Online
    deployments run as local endpoint server processes (`serving`), behind each endpoint's scoring URL.
    """

    def __init__(
        self,
        storage: BlobStorage,
        cert: Path,
        key: Path,
        work_dir: Path,
        scope: Scope | None = None,
        in_progress_polls: int = 1,
    ) -> None:
        self.faults = Faults()
        self.context = Context(scope or Scope(), storage, self.faults, Operations(in_progress_polls))
        router = Router(self.context.scope.location)
        register_all(router, self.context)
        self.app = EmulatorApp(self.context, router)
        self._server = LoopbackServer(self.app, str(cert), str(key))
        self.context.base_url = f"https://127.0.0.1:{self._server.port}"
        self.context.jobs = JobRunner(self.context, work_dir)
        self.context.web_apps = WebApps(self.context.key_vault, self.vault_url, cert, key, work_dir / "webapps",
                                        self.context.role_assignments, self.context.scope.subscription)
        self.context.serving = OnlineServing(self.context, work_dir / "online")
        self.web_apps.platform = self.identity_environment()
        storage.ensure_container()
        self._seed()

    def _seed(self) -> None:
        seed_datastores(self.context)
        seed_compute(self.context, "cpu-cluster", "STANDARD_DS3_V2", max_nodes=4)
        # The workspace's own container registry, where online deployments pull their images from (push_image).
        self.web_apps.add_registry(self.workspace_registry, self.scope.resource_group)

    @property
    def workspace_registry(self) -> str:
        """The name of the workspace's container registry (its containerRegistry id ends with it)."""
        return self.scope.workspace.replace("-", "")

    @property
    def base_url(self) -> str:
        return self.context.base_url

    @property
    def scope(self) -> Scope:
        return self.context.scope

    @property
    def store(self) -> ResourceStore:
        return self.context.store

    @property
    def jobs(self) -> JobRunner:
        assert self.context.jobs is not None
        return self.context.jobs

    @property
    def requests(self) -> list[LoggedRequest]:
        return self.app.requests

    @property
    def web_apps(self) -> WebApps:
        assert self.context.web_apps is not None
        return self.context.web_apps

    @property
    def vault_url(self) -> str:
        """Where the workspace's Key Vault answers (routes/key_vault.py)."""
        return f"{self.base_url}/keyvault/{self.scope.key_vault}"

    @property
    def serving(self) -> OnlineServing:
        assert self.context.serving is not None
        return self.context.serving

    @property
    def key_vault(self) -> KeyVault:
        return self.context.key_vault

    @property
    def quota(self) -> Quota:
        return self.context.quota

    def identity_environment(self) -> dict[str, str]:
        """The variables App Service sets for its managed identity, pointing at this emulator's token endpoint."""
        return {
            "IDENTITY_ENDPOINT": self.base_url + managed_identity.PATH,
            "IDENTITY_HEADER": self.context.identity_header,
        }

    @property
    def cloud(self) -> str:
        """A cloud name of this emulator alone: the SDK keeps the first metadata given for a name."""
        return f"AzureMLEmulator{self._server.port}"

    def cloud_metadata(self) -> dict[str, str]:
        base = self.base_url + "/"
        return {
            "azure_portal": base,
            "resource_manager": base,
            "active_directory": base,
            "aml_resource_id": base,
            "storage_endpoint": self.context.storage.storage_endpoint,
            "registry_discovery_endpoint": base,
            # Not read by azure-ai-ml (it ignores keys it does not know): where a vault named {name} answers,
            # and the audience of its tokens. See routes/key_vault.py.
            "keyvault_url": self.base_url + "/keyvault/{name}",
            "keyvault_resource": KEY_VAULT_RESOURCE,
        }

    def ml_client(self, credential: TokenCredential | None = None, **kwargs: Any) -> MLClient:
        scope = self.scope
        options: dict[str, Any] = {"enable_telemetry": False, "show_progress": False, **kwargs}
        return MLClient(
            credential or FakeCredential(),
            scope.subscription,
            scope.resource_group,
            scope.workspace,
            cloud=self.cloud,
            cloud_metadata=self.cloud_metadata(),
            **options,
        )

    def add_compute(self, name: str, vm_size: str = "STANDARD_DS3_V2", max_nodes: int = 4) -> None:
        seed_compute(self.context, name, vm_size, max_nodes)

    def attach_kubernetes(self, name: str) -> None:
        """A Kubernetes cluster attached to the workspace as compute `name` (for Kubernetes online endpoints)."""
        seed_kubernetes(self.context, name)

    def grant(self, principal_id: str, role_definition_id: str, scope: str) -> None:
        """A role assignment made outside llmops (an owner running `az role assignment create`)."""
        self.context.role_assignments.put(scope, principal_id + role_definition_id[-8:], principal_id,
                                          role_definition_id)

    def reset(self) -> None:
        """Back to a fresh workspace: no resources but the seeded ones, no faults, an empty log."""
        self.jobs.cancel_all()
        self.web_apps.clear()
        self.serving.stop_all()
        self.faults.clear()
        self.context.role_assignments.clear()
        self.context.store.clear()
        self.app.requests.clear()
        self.context.tokens_issued.clear()
        self.context.roles[:] = DEFAULT_ROLES
        self.context.quota = Quota()
        self.context.key_vault.clear()
        self._seed()

    def stop(self) -> None:
        self.serving.close()
        self.jobs.stop()
        self.web_apps.clear()
        self._server.stop()
