"""The workspace itself and its compute clusters (read only: the emulator seeds them)."""

from __future__ import annotations

from typing import Any

from azure.ai.ml._restclient.arm_ml_service import models as rest
from azure.ai.ml._restclient.arm_ml_service._utils.model_base import _deserialize

from ..context import Context
from ..errors import not_found
from ..http import Request, Response, json_response, page
from ..resources import stamp
from ..routing import PROVIDER, WORKSPACE_PATH, Router

WORKSPACE_GUID = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"


def workspace(context: Context) -> rest.Workspace:
    scope = context.scope
    group = f"/subscriptions/{scope.subscription}/resourceGroups/{scope.resource_group}/providers"
    body: dict[str, Any] = {
        "id": scope.workspace_id,
        "name": scope.workspace,
        "type": f"{PROVIDER}/workspaces",
        "location": scope.location,
        "kind": "Default",
        "identity": {
            "type": "SystemAssigned",
            "principalId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "tenantId": "72f988bf-0000-0000-0000-000000000000",
        },
        "sku": {"name": "Basic", "tier": "Basic"},
        "properties": {
            "friendlyName": scope.workspace,
            "workspaceId": WORKSPACE_GUID,
            "provisioningState": "Succeeded",
            "storageAccount": f"{group}/Microsoft.Storage/storageAccounts/{context.storage.account}",
            "keyVault": f"{group}/Microsoft.KeyVault/vaults/{scope.key_vault}",
            "applicationInsights": f"{group}/Microsoft.Insights/components/{scope.workspace}-ai",
            "containerRegistry": f"{group}/Microsoft.ContainerRegistry/registries/{scope.workspace.replace('-', '')}",
            "discoveryUrl": f"{context.base_url}/discovery",
            "mlFlowTrackingUri": f"azureml://{scope.location}.api.azureml.ms/mlflow/v1.0{scope.workspace_id}",
            "publicNetworkAccess": "Enabled",
            "hbiWorkspace": False,
        },
    }
    return _deserialize(rest.Workspace, body)


def seed_compute(context: Context, name: str, vm_size: str, max_nodes: int) -> None:
    """A compute cluster (AmlCompute) that jobs may name as their compute."""
    body = {
        "location": context.scope.location,
        "properties": {
            "computeType": "AmlCompute",
            "computeLocation": context.scope.location,
            "provisioningState": "Succeeded",
            "properties": {
                "vmSize": vm_size,
                "vmPriority": "Dedicated",
                "osType": "Linux",
                "scaleSettings": {
                    "maxNodeCount": max_nodes,
                    "minNodeCount": 0,
                    "nodeIdleTimeBeforeScaleDown": "PT120S",
                },
                "allocationState": "Steady",
                "currentNodeCount": 0,
                "targetNodeCount": 0,
            },
        },
    }
    context.store.put(
        stamp(_deserialize(rest.ComputeResource, body), context.scope, "computes", name), "computes", name
    )


def seed_kubernetes(context: Context, name: str) -> None:
    """A Kubernetes cluster attached as compute (what `az ml compute attach --type Kubernetes` makes)."""
    body = {
        "location": context.scope.location,
        "properties": {
            "computeType": "Kubernetes",
            "computeLocation": context.scope.location,
            "provisioningState": "Succeeded",
            "properties": {"namespace": "default", "defaultInstanceType": "defaultinstancetype"},
        },
    }
    context.store.put(
        stamp(_deserialize(rest.ComputeResource, body), context.scope, "computes", name), "computes", name
    )


def register(router: Router, context: Context) -> None:
    def get_workspace(request: Request, params: dict[str, str]) -> Response:
        return json_response(workspace(context))

    def get_compute(request: Request, params: dict[str, str]) -> Response:
        found = context.store.get("computes", params["name"])
        if found is None:
            raise not_found(
                f"{PROVIDER}/workspaces/{context.scope.workspace}/computes/{params['name']}",
                context.scope.resource_group,
            )
        return json_response(found)

    def list_computes(request: Request, params: dict[str, str]) -> Response:
        return page(context.store.children("computes"))

    def discovery(request: Request, params: dict[str, str]) -> Response:
        """The workspace's discovery document: every data-plane service is this emulator."""
        services = (
            "api",
            "catalog",
            "experimentation",
            "gallery",
            "history",
            "hyperdrive",
            "labeling",
            "modelmanagement",
            "pipelines",
            "studiometadata",
        )
        return json_response({service: context.base_url for service in services})

    router.add("GET", "/discovery", "discovery", discovery, arm=False, public=True)
    router.add("GET", WORKSPACE_PATH, "workspaces", get_workspace)
    router.add("GET", WORKSPACE_PATH + "/computes/{name}", "workspaces/computes", get_compute)
    router.add("GET", WORKSPACE_PATH + "/computes", "workspaces/computes", list_computes)
