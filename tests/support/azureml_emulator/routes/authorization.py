"""What the caller may do on the workspace: `GET {scope}/providers/Microsoft.Authorization/permissions`.

ARM answers with one permission set per role assignment that applies at the scope (inherited ones
included): the role definition's actions, notActions, dataActions and notDataActions. The emulator's
identity holds the roles in `context.roles` (AzureML Data Scientist by default); every action a test
forbids (`faults.forbid`) is added to each set's notActions, so what a caller reads here agrees with
the 403s it gets.

Role assignments (`{scope}/providers/Microsoft.Authorization/roleAssignments[/{name}]`, on the workspace, the
key vault, a container registry and a blob container of a storage account), kept in the one store of
..role_assignments: listed with `$filter=principalId eq '<id>'` (those made at the scope or above it), created with
PUT when the caller's roles allow `Microsoft.Authorization/roleAssignments/write` (Owner, User Access
Administrator: not AzureML Data Scientist), else ARM's AuthorizationFailed; the same role for the same principal
at the same scope under another name is a 409 RoleAssignmentExists. A registry the emulator does not hold is a
404, as ARM answers.
"""

from __future__ import annotations

import re
from typing import Any

from ..context import Context
from ..errors import bad_request, not_found
from ..faults import _arm_forbidden
from ..http import Request, Response, json_response
from ..routing import PROVIDER, WORKSPACE_PATH, Router

AUTHORIZATION = "Microsoft.Authorization"
AUTHORIZATION_API_VERSIONS = ("2015-07-01", "2018-01-01-preview", "2022-04-01", "2022-05-01-preview")

_ML = "Microsoft.MachineLearningServices/workspaces"

# The built-in role definitions' permissions, as `az role definition list --name <role>` shows them.
ROLES: dict[str, dict[str, list[str]]] = {
    "AzureML Data Scientist": {
        "actions": [f"{_ML}/*/read", f"{_ML}/*/action", f"{_ML}/*/delete", f"{_ML}/*/write"],
        "notActions": [
            f"{_ML}/delete",
            f"{_ML}/write",
            f"{_ML}/computes/*/write",
            f"{_ML}/computes/*/delete",
            "Microsoft.Authorization/*",
            f"{_ML}/listKeys/action",
            f"{_ML}/hubs/write",
            f"{_ML}/hubs/delete",
            f"{_ML}/featurestores/write",
            f"{_ML}/featurestores/delete",
        ],
        "dataActions": [],
        "notDataActions": [],
    },
    "Reader": {"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []},
    "User Access Administrator": {"actions": ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
                                  "notActions": [], "dataActions": [], "notDataActions": []},
    "Owner": {"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []},
    "Contributor": {
        "actions": ["*"],
        "notActions": [
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
            "Microsoft.Purview/consents/write",
            "Microsoft.Purview/consents/delete",
            "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
            "Microsoft.Subscription/cancel/action",
            "Microsoft.Subscription/enable/action",
        ],
        "dataActions": [],
        "notDataActions": [],
    },
}


def _not_action(fragment: str) -> str:
    """A notActions entry refusing what `faults.forbid(fragment)` refuses: any action containing it."""
    if fragment.startswith("workspaces/") and fragment.endswith(("/read", "/write", "/delete", "/action")):
        return f"{PROVIDER}/{fragment}"  # a whole action, as a role definition would name it
    return f"*{fragment}*"


def permissions(context: Context) -> list[dict[str, Any]]:
    forbidden = [_not_action(f) for f in context.faults.forbidden_actions()]
    sets = []
    for role in context.roles:
        definition = ROLES[role]
        sets.append({**definition, "notActions": [*definition["notActions"], *forbidden]})
    return sets


def register(router: Router, context: Context) -> None:
    def list_permissions(request: Request, params: dict[str, str]) -> Response:
        return json_response({"value": permissions(context)})

    def may_assign() -> bool:
        action = "microsoft.authorization/roleassignments/write"
        for definition in permissions(context):
            allowed = any(re.fullmatch(a.lower().replace("*", ".*"), action) for a in definition["actions"])
            denied = any(re.fullmatch(n.lower().replace("*", ".*"), action) for n in definition["notActions"])
            if allowed and not denied:
                return True
        return False

    def scope_of(request: Request) -> str:
        return request.path.split("/providers/Microsoft.Authorization/", 1)[0]

    def assignment(found: dict[str, str]) -> dict[str, Any]:
        return {"id": f"{found['scope']}/providers/Microsoft.Authorization/roleAssignments/{found['name']}",
                "name": found["name"], "type": "Microsoft.Authorization/roleAssignments",
                "properties": {"scope": found["scope"], "principalId": found["principalId"],
                               "roleDefinitionId": found["roleDefinitionId"], "principalType": "ServicePrincipal"}}

    def check_resource(params: dict[str, str]) -> None:
        registry = params.get("registry")
        if registry is not None and (context.web_apps is None or registry.lower() not in context.web_apps.registries):
            raise not_found(f"Microsoft.ContainerRegistry/registries/{registry}", params["resource_group"])

    def list_assignments(request: Request, params: dict[str, str]) -> Response:
        check_resource(params)
        wanted = re.search(r"principalId eq '([^']+)'", request.query.get("$filter", ""))
        found = context.role_assignments.applying(scope_of(request), wanted[1] if wanted else None)
        return json_response({"value": [assignment(a) for a in found]})

    def put_assignment(request: Request, params: dict[str, str]) -> Response:
        check_resource(params)
        if not may_assign():
            raise _arm_forbidden(request, "Microsoft.Authorization/roleAssignments/write")
        properties = (request.json() or {}).get("properties") or {}
        if not properties.get("roleDefinitionId") or not properties.get("principalId"):
            raise bad_request("A role assignment needs properties.roleDefinitionId and properties.principalId.")
        made, new = context.role_assignments.put(scope_of(request), params["name"], properties["principalId"],
                                                 properties["roleDefinitionId"])
        return json_response(assignment(made), 201 if new else 200)

    group = "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers"
    vault = group + "/Microsoft.KeyVault/vaults/{vault}"
    registry = group + "/Microsoft.ContainerRegistry/registries/{registry}"
    container = group + "/Microsoft.Storage/storageAccounts/{account}/blobServices/default/containers/{container}"
    for base in (WORKSPACE_PATH, vault, registry, container):
        assignments = base + "/providers/Microsoft.Authorization/roleAssignments"
        options: dict[str, Any] = {"provider": AUTHORIZATION, "api_versions": AUTHORIZATION_API_VERSIONS}
        router.add("GET", assignments, "roleAssignments", list_assignments, **options)
        router.add("PUT", assignments + "/{name}", "roleAssignments", put_assignment, **options)

    router.add(
        "GET",
        WORKSPACE_PATH + "/providers/Microsoft.Authorization/permissions",
        "permissions",
        list_permissions,
        provider=AUTHORIZATION,
        api_versions=AUTHORIZATION_API_VERSIONS,
    )
