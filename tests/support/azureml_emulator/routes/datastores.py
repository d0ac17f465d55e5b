"""Datastores: the workspace's default blob store, which lives in Azurite, and its account key.

`listSecrets` answers Azurite's published development key, so the SDK's own upload and download
code (azure-storage-blob with an account key) works against the emulator unchanged.
"""

from __future__ import annotations

from azure.ai.ml._restclient.arm_ml_service import models as rest
from azure.ai.ml._restclient.arm_ml_service._utils.model_base import _deserialize

from ..blob_storage import ARTIFACT_CONTAINER, ARTIFACT_DATASTORE, DATASTORE
from ..context import Context
from ..errors import not_found
from ..http import Request, Response, json_response, page
from ..resources import stamp
from ..routing import PROVIDER, WORKSPACE_PATH, Router


def seed_datastores(context: Context) -> None:
    """workspaceblobstore (the default: data, code, job outputs) and workspaceartifactstore (job logs)."""
    _seed(context, DATASTORE, context.storage.container, is_default=True)
    _seed(context, ARTIFACT_DATASTORE, ARTIFACT_CONTAINER, is_default=False)


def _seed(context: Context, name: str, container: str, is_default: bool) -> None:
    storage = context.storage
    storage.ensure_container(container)
    body = {
        "properties": {
            "datastoreType": "AzureBlob",
            "accountName": storage.account,
            "containerName": container,
            "endpoint": storage.storage_endpoint,
            "protocol": "https",
            "credentials": {"credentialsType": "AccountKey"},
            "isDefault": is_default,
            "serviceDataAccessAuthIdentity": "None",
            "subscriptionId": context.scope.subscription,
            "resourceGroup": context.scope.resource_group,
            "description": "A blob container in Azurite.",
        }
    }
    model = stamp(_deserialize(rest.Datastore, body), context.scope, "datastores", name)
    context.store.put(model, "datastores", name)


def register(router: Router, context: Context) -> None:
    def find(name: str) -> rest.Datastore:
        found = context.store.get("datastores", name)
        if found is None:
            raise not_found(
                f"{PROVIDER}/workspaces/{context.scope.workspace}/datastores/{name}", context.scope.resource_group
            )
        return found

    def list_datastores(request: Request, params: dict[str, str]) -> Response:
        datastores = context.store.children("datastores")
        if request.query.get("isDefault", "").lower() == "true":
            datastores = [d for d in datastores if d.properties.get("isDefault")]
        return page(datastores)

    def get_datastore(request: Request, params: dict[str, str]) -> Response:
        return json_response(find(params["name"]))

    def list_secrets(request: Request, params: dict[str, str]) -> Response:
        find(params["name"])
        return json_response(rest.AccountKeyDatastoreSecrets(key=context.storage.key))

    router.add("GET", WORKSPACE_PATH + "/datastores", "workspaces/datastores", list_datastores)
    router.add("GET", WORKSPACE_PATH + "/datastores/{name}", "workspaces/datastores", get_datastore)
    router.add(
        "POST",
        WORKSPACE_PATH + "/datastores/{name}/listSecrets",
        "workspaces/datastores",
        list_secrets,
        action="listSecrets",
    )
