"""The roles an online endpoint's identity needs, granted when the caller may, else the exact command to grant them.

Only what the endpoint server in the image does, as its system-assigned identity: pull the image from the
workspace's container registry (AcrPull; Azure ML grants it too when it creates the identity and may, so a deploy
does not depend on that), read the LLM connections' secrets from the env's Key Vault (KEYVAULT_NAME; Key Vault
Secrets User, when the env names one), and ship its production log to a container on the workspace's storage
account (azureml/production_logs.py; Storage Blob Data Contributor on that container alone). Nothing on the
workspace: the server makes no Azure ML call, so no workspace role such as AzureML Data Scientist,
which would let any code in the image read and change the workspace's data, models and jobs. The actions map to
built-in roles through roles.role_for, as every other role llmops names does. An assignment that exists is left
alone; a missing one is created under a name derived from (scope, principal, role), so two deploys never make two;
when the caller may not create it (403: assigning roles takes Owner or User Access Administrator), the deploy
stops before any deployment is made and names the `az role assignment create` command an owner runs once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from azure.core.exceptions import HttpResponseError

from llmops.backends.azureml.access import WorkspaceAccess
from llmops.backends.azureml.http import get_json, send_json
from llmops.backends.azureml.roles import role_for
from llmops.errors import LlmopsError

API_VERSION = "2022-04-01"
REGISTRY_ACTIONS = ("Microsoft.ContainerRegistry/registries/pull/read",)
KEY_VAULT_ACTIONS = ("Microsoft.KeyVault/vaults/secrets/getSecret/action",)
LOG_ACTIONS = ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",)
# Built-in role definitions have the same id in every tenant (az role definition list --name <role>).
ROLE_IDS = {
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
}


@dataclass(frozen=True)
class Grant:
    scope: str  # an ARM id
    described: str  # "key vault 'llmops-kv'"
    role: str

    def command(self, principal_id: str) -> str:
        return (f"az role assignment create --assignee-object-id {principal_id} --assignee-principal-type "
                f"ServicePrincipal --role \"{self.role}\" --scope {self.scope}")


def _grants(scope: str, described: str, actions: tuple[str, ...]) -> list[Grant]:
    return [Grant(scope, described, role) for role in dict.fromkeys(role_for(a) for a in actions)]


def needed(access: WorkspaceAccess, registry_id: str, log_container: str | None = None) -> list[Grant]:
    """`registry_id`: the workspace's container registry (its ARM id), where the deployments pull their image;
    `log_container`: the ARM id of the production-log container the server writes."""
    settings = access.settings
    grants = _grants(registry_id, f"container registry '{registry_id.rstrip('/').rsplit('/', 1)[-1]}'",
                     REGISTRY_ACTIONS)
    if settings.keyvault:
        vault = (f"/subscriptions/{settings.subscription_id}/resourceGroups/{settings.resource_group}/providers/"
                 f"Microsoft.KeyVault/vaults/{settings.keyvault}")
        grants += _grants(vault, f"key vault '{settings.keyvault}'", KEY_VAULT_ACTIONS)
    if log_container:
        grants += _grants(log_container, f"blob container '{log_container.rsplit('/', 1)[-1]}'", LOG_ACTIONS)
    return grants


def grant_roles(access: WorkspaceAccess, endpoint: str, principal_id: str, registry_id: str,
                log_container: str | None = None) -> list[str]:
    """Give the endpoint's identity its roles; returns what was granted, for the user. Raises, naming every command
    still to run, when the caller may not grant one."""
    granted, refused = [], []
    for grant in needed(access, registry_id, log_container):
        if _assigned(access, grant, principal_id):
            continue
        try:
            _assign(access, grant, principal_id)
        except HttpResponseError as error:
            if error.status_code == 409:  # RoleAssignmentExists: someone granted it meanwhile
                continue
            if error.status_code != 403:
                raise
            refused.append(grant)
            continue
        granted.append(f"granted '{grant.role}' on {grant.described} to endpoint '{endpoint}' (identity "
                       f"{principal_id})")
    if refused:
        raise LlmopsError(
            f"endpoint '{endpoint}' needs its identity (object id {principal_id}) to hold "
            + ", ".join(f"'{g.role}' on {g.described}" for g in refused)
            + ", and this login may not assign roles (that takes Owner or User Access Administrator); ask an owner "
              "to run once: " + " && ".join(g.command(principal_id) for g in refused)
            + "; then deploy again (no deployment was made)")
    return granted


def _assignments_url(access: WorkspaceAccess, scope: str) -> str:
    base = access.settings.cloud.resource_manager.rstrip("/")
    return f"{base}{scope}/providers/Microsoft.Authorization/roleAssignments"


def _role_definition(access: WorkspaceAccess, role: str) -> str:
    return (f"/subscriptions/{access.settings.subscription_id}/providers/Microsoft.Authorization/roleDefinitions/"
            f"{ROLE_IDS[role]}")


def _assigned(access: WorkspaceAccess, grant: Grant, principal_id: str) -> bool:
    answer = get_json(_assignments_url(access, grant.scope), access.login, access.settings.cloud.arm_scope,
                      {"api-version": API_VERSION, "$filter": f"principalId eq '{principal_id}'"})
    wanted = ROLE_IDS[grant.role].lower()
    return any(str((a.get("properties") or {}).get("roleDefinitionId", "")).lower().endswith(wanted)
               for a in (answer or {}).get("value") or [])


def _assign(access: WorkspaceAccess, grant: Grant, principal_id: str) -> None:
    name = uuid.uuid5(uuid.NAMESPACE_URL, f"{grant.scope.lower()}|{principal_id}|{grant.role}")
    body = {"properties": {"roleDefinitionId": _role_definition(access, grant.role), "principalId": principal_id,
                           "principalType": "ServicePrincipal"}}
    send_json("PUT", f"{_assignments_url(access, grant.scope)}/{name}", access.login, access.settings.cloud.arm_scope,
              {"api-version": API_VERSION}, body)
