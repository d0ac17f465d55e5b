"""The roles an online endpoint's identity needs, granted when the caller may, else the exact command to grant them.

The endpoint server in the image reads the LLM connections from the env's Key Vault (KEYVAULT_NAME) and ships its
production log to a container on the workspace's storage account (azureml/production_logs.py), as the endpoint's
system-assigned identity: Storage Blob Data Contributor on that container alone. The actions it
performs map to built-in roles through roles.role_for, as every other role llmops names does. An assignment
that exists is left alone; a missing one is created under a name derived from (scope, principal, role), so two
deploys never make two; when the caller may not create it (403: assigning roles takes Owner or User Access
Administrator), the deploy stops before any deployment is made and names the `az role assignment create`
command an owner runs once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from azure.core.exceptions import HttpResponseError

from llmops.backends.azureml.access import WorkspaceAccess
from llmops.backends.azureml.http import get_json, send_json
from llmops.backends.azureml.roles import ML, role_for
from llmops.errors import LlmopsError

API_VERSION = "2022-04-01"
WORKSPACE_ACTIONS = (f"{ML}/workspaces/read", f"{ML}/workspaces/datastores/read",
                     f"{ML}/workspaces/datastores/listSecrets/action")
KEY_VAULT_ACTIONS = ("Microsoft.KeyVault/vaults/secrets/getSecret/action",)
LOG_ACTIONS = ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",)
# Built-in role definitions have the same id in every tenant (az role definition list --name <role>).
ROLE_IDS = {
    "AzureML Data Scientist": "f6c7c914-8db3-469d-8ca1-694a8f32e121",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
}


@dataclass(frozen=True)
class Grant:
    scope: str  # an ARM id
    described: str  # "workspace 'llmops-ws'"
    role: str

    def command(self, principal_id: str) -> str:
        return (f"az role assignment create --assignee-object-id {principal_id} --assignee-principal-type "
                f"ServicePrincipal --role \"{self.role}\" --scope {self.scope}")


def needed(access: WorkspaceAccess, log_container: str | None = None) -> list[Grant]:
    """The grants of an endpoint's identity; `log_container`: the ARM id of the production-log container it writes."""
    settings = access.settings
    grants = [Grant(settings.workspace_id, f"workspace '{settings.workspace}'", role)
              for role in dict.fromkeys(role_for(a) for a in WORKSPACE_ACTIONS)]
    if settings.keyvault:
        vault = (f"/subscriptions/{settings.subscription_id}/resourceGroups/{settings.resource_group}/providers/"
                 f"Microsoft.KeyVault/vaults/{settings.keyvault}")
        grants += [Grant(vault, f"key vault '{settings.keyvault}'", role)
                   for role in dict.fromkeys(role_for(a) for a in KEY_VAULT_ACTIONS)]
    if log_container:
        grants += [Grant(log_container, f"blob container '{log_container.rsplit('/', 1)[-1]}'", role)
                   for role in dict.fromkeys(role_for(a) for a in LOG_ACTIONS)]
    return grants


def grant_roles(access: WorkspaceAccess, endpoint: str, principal_id: str,
                log_container: str | None = None) -> list[str]:
    """Give the endpoint's identity its roles; returns what was granted, for the user. Raises, naming every command
    still to run, when the caller may not grant one."""
    granted, refused = [], []
    for grant in needed(access, log_container):
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
