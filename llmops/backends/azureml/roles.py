"""The role-based access control actions llmops needs on a workspace, and the built-in role granting each.

Matching follows role definitions: an action is allowed by a permission set when one of its `actions`
matches and none of its `notActions` does, case-insensitively; `*` matches any text, and `/*/` also
matches a single `/` (so `workspaces/*/write` covers `workspaces/write`, which is why AzureML Data
Scientist lists that among its notActions).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.pipeline.policies import RetryPolicy

from llmops.backends.azureml.http import get_json
from llmops.backends.azureml.settings import AzureSettings

ML = "Microsoft.MachineLearningServices"
PERMISSIONS_API_VERSION = "2022-04-01"

# What llmops does in a workspace, as the actions Azure checks (all granted by AzureML Data Scientist): find
# it, its compute and default datastore, upload to the datastore, and read and write these kinds of resource.
_READ_WRITE = ("data/versions", "models/versions", "jobs", "environments/versions", "codes/versions",
               "components/versions", "onlineEndpoints", "onlineEndpoints/deployments")
REQUIRED_ACTIONS: tuple[str, ...] = tuple(
    f"{ML}/workspaces/{action}"
    for action in ("read", "computes/read", "datastores/read", "datastores/listSecrets/action",
                   *(f"{kind}/{verb}" for kind in _READ_WRITE for verb in ("read", "write")))
)

# The built-in role to assign for an action: the first pattern that matches names it.
ROLE_FOR: tuple[tuple[str, str], ...] = (
    (f"{ML}/workspaces/computes/*/write", "AzureML Compute Operator"),
    (f"{ML}/workspaces/computes/*/delete", "AzureML Compute Operator"),
    (f"{ML}/workspaces/write", "Contributor"),
    (f"{ML}/workspaces/delete", "Contributor"),
    (f"{ML}/workspaces/listKeys/action", "Contributor"),
    (f"{ML}/workspaces/*", "AzureML Data Scientist"),
    (f"{ML}/locations/*/read", "Reader"),
    ("Microsoft.KeyVault/vaults/secrets/setSecret/action", "Key Vault Secrets Officer"),
    ("Microsoft.KeyVault/vaults/secrets/*", "Key Vault Secrets User"),
    ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*", "Storage Blob Data Contributor"),
    ("Microsoft.ContainerRegistry/registries/pull/read", "AcrPull"),
    ("Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", "Managed Identity Operator"),
    ("*/read", "Reader"),
    ("*", "Contributor"),
)


@functools.cache
def _pattern(text: str) -> re.Pattern[str]:
    parts = re.split(r"(/\*/|\*)", text)
    regex = "".join("/(?:.*/)?" if p == "/*/" else ".*" if p == "*" else re.escape(p) for p in parts)
    return re.compile(f"^{regex}$", re.IGNORECASE)


def matches(action: str, patterns: Iterable[str]) -> bool:
    return any(_pattern(p).match(action) for p in patterns)


def role_for(action: str) -> str:
    return next(role for pattern, role in ROLE_FOR if matches(action, [pattern]))


def allowed(action: str, permissions: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a caller holding `permissions` (the permissions API's `value`) may perform `action`."""
    return any(
        matches(action, p.get("actions") or ()) and not matches(action, p.get("notActions") or ())
        for p in permissions
    )


def missing_actions(permissions: Sequence[Mapping[str, Any]]) -> list[str]:
    return [action for action in REQUIRED_ACTIONS if not allowed(action, permissions)]


def workspace_permissions(
    settings: AzureSettings, credential: TokenCredential, retry_policy: RetryPolicy[Any, Any] | None = None
) -> list[dict[str, Any]]:
    """What the caller may do on the workspace: one permission set per role assignment that applies there."""
    url: str | None = (settings.cloud.resource_manager.rstrip("/") + settings.workspace_id
                       + "/providers/Microsoft.Authorization/permissions")
    params = {"api-version": PERMISSIONS_API_VERSION}
    found: list[dict[str, Any]] = []
    while url:
        answer = get_json(url, credential, settings.cloud.arm_scope, params, retry_policy)
        found.extend(answer.get("value") or [])
        url, params = answer.get("nextLink"), {}  # a next link carries its own query
    return found
