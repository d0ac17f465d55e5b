"""The web app's user-assigned identity (USER_MANAGED_ID), its right to pull from the registry (AcrPull), and to
write the production log (Storage Blob Data Contributor on the workspace's production-log container).

App Service pulls the image with the identity named in acrUserManagedIdentityID (its client id) and resolves
Key Vault references with keyVaultReferenceIdentity (its resource id). The identity needs AcrPull on the
registry, and the blob role on the log container: each granted here with a role assignment named by a hash of
(scope, principal, role), so granting twice is one assignment, and an existing one (409 RoleAssignmentExists) is
success. When the caller may not grant
roles, the message gives the exact `az role assignment create` command for someone who may.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from azure.core.credentials import TokenCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from llmops.backends.azureml.http import get_json, send_json
from llmops.backends.azureml.webapp.target import WebAppTarget
from llmops.errors import LlmopsError

IDENTITY_API_VERSION = "2023-01-31"
REGISTRY_API_VERSION = "2023-07-01"
ROLE_ASSIGNMENT_API_VERSION = "2022-04-01"
ACR_PULL = ("AcrPull", "7f951dda-4ed3-4680-a7ca-43fe172d538d")  # the built-in role's name and definition id
BLOB_CONTRIBUTOR = ("Storage Blob Data Contributor", "ba92f5b4-2d11-453d-a403-e96b0029c9fe")


@dataclass(frozen=True)
class UserIdentity:
    resource_id: str
    client_id: str  # what acrUserManagedIdentityID names
    principal_id: str  # what a role assignment names


@dataclass(frozen=True)
class Registry:
    resource_id: str
    login_server: str  # myacr.azurecr.io


def _url(target: WebAppTarget, resource_id: str) -> str:
    return target.settings.cloud.resource_manager.rstrip("/") + resource_id


def user_identity(target: WebAppTarget, credential: TokenCredential) -> UserIdentity:
    try:
        found = get_json(_url(target, target.identity_id), credential, target.settings.cloud.arm_scope,
                         {"api-version": IDENTITY_API_VERSION})
    except ResourceNotFoundError:
        raise LlmopsError(f"{target.key('USER_MANAGED_ID')}: no user-assigned identity '{target.identity_id}'; "
                          f"create it with: az identity create --name {target.identity_id.rsplit('/', 1)[-1]} "
                          f"--resource-group {target.identity_id.split('/')[4]}") from None
    properties = found.get("properties") or {}
    return UserIdentity(str(found.get("id") or target.identity_id), str(properties.get("clientId", "")),
                        str(properties.get("principalId", "")))


def registry(target: WebAppTarget, credential: TokenCredential) -> Registry:
    try:
        found = get_json(_url(target, target.registry_id), credential, target.settings.cloud.arm_scope,
                         {"api-version": REGISTRY_API_VERSION})
    except ResourceNotFoundError:
        raise LlmopsError(f"{target.key('REGISTRY_NAME')}: no container registry '{target.registry}' in resource "
                          f"group '{target.registry_group}'; create it (az acr create --name {target.registry} "
                          f"--resource-group {target.registry_group} --sku Basic) or fix REGISTRY_NAME / "
                          "REGISTRY_RG_NAME") from None
    return Registry(str(found.get("id") or target.registry_id),
                    str((found.get("properties") or {}).get("loginServer", "")))


def grant_acr_pull(target: WebAppTarget, credential: TokenCredential, identity: UserIdentity,
                   registry_id: str) -> None:
    _grant(target, credential, identity, registry_id, ACR_PULL,
           f"the identity {target.identity_id.rsplit('/', 1)[-1]} may not pull from registry '{target.registry}' and "
           "you may not grant it", "an owner of the registry")


def grant_log_writer(target: WebAppTarget, credential: TokenCredential, identity: UserIdentity,
                     container_id: str) -> None:
    """Storage Blob Data Contributor on the production-log container (azureml/production_logs.py), which the
    server in the web app writes its log to as this identity."""
    _grant(target, credential, identity, container_id, BLOB_CONTRIBUTOR,
           f"the identity {target.identity_id.rsplit('/', 1)[-1]} may not write the production log to blob container "
           f"'{container_id.rsplit('/', 1)[-1]}' and you may not grant it", "an owner of the storage account")


def _grant(target: WebAppTarget, credential: TokenCredential, identity: UserIdentity, scope: str,
           role: tuple[str, str], refused: str, who: str) -> None:
    name, definition = role
    assignment = uuid.uuid5(uuid.NAMESPACE_URL, f"{scope}|{identity.principal_id}|{definition}".lower())
    url = _url(target, f"{scope}/providers/Microsoft.Authorization/roleAssignments/{assignment}")
    body = {"properties": {
        "roleDefinitionId": f"/subscriptions/{target.subscription}/providers/Microsoft.Authorization/"
                            f"roleDefinitions/{definition}",
        "principalId": identity.principal_id, "principalType": "ServicePrincipal"}}
    try:
        send_json("PUT", url, credential, target.settings.cloud.arm_scope,
                  {"api-version": ROLE_ASSIGNMENT_API_VERSION}, body)
    except HttpResponseError as error:
        code = error.error.code if error.error else ""
        if error.status_code == 409 and code == "RoleAssignmentExists":
            return
        if error.status_code == 403:
            quoted = f'"{name}"' if " " in name else name
            raise LlmopsError(
                f"{refused} ({code or 403}); ask {who} to run: az role assignment create --assignee-object-id "
                f"{identity.principal_id} --assignee-principal-type ServicePrincipal --role {quoted} --scope "
                f"{scope}") from error
        raise
