"""What the caller may do on the workspace: `GET {scope}/providers/Microsoft.Authorization/permissions`.

ARM answers with one permission set per role assignment that applies at the scope (inherited ones
included): the role definition's actions, notActions, dataActions and notDataActions. The emulator's
identity holds the roles in `context.roles` (AzureML Data Scientist by default); every action a test
forbids (`faults.forbid`) is added to each set's notActions, so what a caller reads here agrees with
the 403s it gets.

Role assignments (`{scope}/providers/Microsoft.Authorization/roleAssignments[/{name}]`, on the workspace, on the
key vault and on a blob container of a storage account): listed with `$filter=principalId eq '<id>'`, created
with PUT when the caller's roles allow `Microsoft.Authorization/roleAssignments/write` (Owner, User Access
Administrator: not AzureML Data Scientist), else ARM's AuthorizationFailed; the same role for the same principal
at the same scope under another name is a 409 RoleAssignmentExists.
"""

from __future__ import annotations

import re
from typing import Any

from ..context import Context
from ..errors import ServiceError, bad_request
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

    def list_assignments(request: Request, params: dict[str, str]) -> Response:
        scope = scope_of(request).lower()
        wanted = re.search(r"principalId eq '([^']+)'", request.query.get("$filter", ""))
        found = [a for a in context.role_assignments if scope.startswith(a["scope"].lower())
                 and (wanted is None or a["principalId"] == wanted[1])]
        return json_response({"value": [assignment(a) for a in found]})

    def put_assignment(request: Request, params: dict[str, str]) -> Response:
        if not may_assign():
            raise _arm_forbidden(request, "Microsoft.Authorization/roleAssignments/write")
        properties = (request.json() or {}).get("properties") or {}
        if not properties.get("roleDefinitionId") or not properties.get("principalId"):
            raise bad_request("A role assignment needs properties.roleDefinitionId and properties.principalId.")
        scope = scope_of(request)
        new = {"scope": scope, "name": params["name"], "principalId": properties["principalId"],
               "roleDefinitionId": properties["roleDefinitionId"]}
        for existing in context.role_assignments:
            same = (existing["scope"].lower(), existing["principalId"], existing["roleDefinitionId"].lower()) == (
                scope.lower(), new["principalId"], new["roleDefinitionId"].lower())
            if same and existing["name"] != new["name"]:
                raise ServiceError(409, "RoleAssignmentExists", "The role assignment already exists.")
            if same:
                return json_response(assignment(existing))
        context.role_assignments.append(new)
        return json_response(assignment(new), 201)

    vault = "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.KeyVault/vaults/{vault}"
    container = ("/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Storage/"
                 "storageAccounts/{account}/blobServices/default/containers/{container}")
    for base in (WORKSPACE_PATH, vault, container):
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
