"""What the caller may do on the workspace: `GET {scope}/providers/Microsoft.Authorization/permissions`.

ARM answers with one permission set per role assignment that applies at the scope (inherited ones
included): the role definition's actions, notActions, dataActions and notDataActions. The emulator's
identity holds the roles in `context.roles` (AzureML Data Scientist by default); every action a test
forbids (`faults.forbid`) is added to each set's notActions, so what a caller reads here agrees with
the 403s it gets.
"""

from __future__ import annotations

from typing import Any

from ..context import Context
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

    router.add(
        "GET",
        WORKSPACE_PATH + "/providers/Microsoft.Authorization/permissions",
        "permissions",
        list_permissions,
        provider=AUTHORIZATION,
        api_versions=AUTHORIZATION_API_VERSIONS,
    )
