"""Key Vault's secrets data plane, for the vault the workspace names (`context.key_vault`).

In Azure a vault answers at `https://<name>.vault.azure.net`; a host name per vault needs DNS the tests do
not have, so here the vault answers at `<emulator>/keyvault/<name>` and the emulator's cloud metadata says
so (`keyvault_url`: a URL with `{name}` in it). Below the vault's URL the paths, bodies and errors are Key
Vault's: `GET /secrets` (secret metadata, paged), `GET /secrets/{name}[/{version}]` (a secret bundle with
its value), `PUT /secrets/{name}`. A request needs a bearer token whose audience is Key Vault's
(`https://vault.azure.net`); without one the vault answers 401 with its `WWW-Authenticate` challenge.
Each route needs the data action Azure RBAC checks (readMetadata, getSecret, setSecret), so
`faults.forbid("secrets/getSecret")` gets Key Vault's own 403. A vault name the emulator does not host
gets no answer at all, as a name that resolves nowhere would.
"""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..credential import CLIENT_ID, OBJECT_ID, TENANT_ID, token_claims
from ..errors import ServiceError
from ..http import DROPPED, Request, Response, json_response
from ..key_vault import RESOURCE, SecretVersion
from ..routing import Router

VAULT_PATH = "/keyvault/{vault}"
API_VERSIONS = ("7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01")
PROVIDER = "Microsoft.KeyVault"
MAX_RESULTS = 25  # the most Key Vault returns on one page


def _unauthorized(message: str) -> ServiceError:
    challenge = f'Bearer authorization="https://login.microsoftonline.com/{TENANT_ID}", resource="{RESOURCE}"'
    return ServiceError(401, "Unauthorized", message, headers={"WWW-Authenticate": challenge})


def authenticate(request: Request) -> None:
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        raise _unauthorized("AKV10000: Request is missing a Bearer or PoP token.")
    audience = str(token_claims(header.removeprefix("Bearer ")).get("aud", "")).rstrip("/")
    if audience != RESOURCE:
        raise _unauthorized(f"AKV10022: Invalid audience. Expected {RESOURCE}, found: {audience}.")


def register(router: Router, context: Context) -> None:
    def vault_url(name: str) -> str:
        return f"{context.base_url}/keyvault/{name}"

    def vault_id() -> str:
        scope = context.scope
        return (
            f"/subscriptions/{scope.subscription}/resourcegroups/{scope.resource_group}"
            f"/providers/microsoft.keyvault/vaults/{scope.key_vault}"
        )

    def denied(request: Request, action: str) -> ServiceError:
        """Key Vault's 403 under Azure RBAC: the caller, the action and the resource, line by line."""
        parts = request.path.split("/")
        resource = vault_id() + (f"/secrets/{parts[4]}" if len(parts) > 4 else "")
        message = (
            "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments "
            "or role definitions were changed recently, please observe propagation time.\r\n"
            f"Caller: appid={CLIENT_ID};oid={OBJECT_ID};iss=https://sts.windows.net/{TENANT_ID}/\r\n"
            f"Action: '{action}'\r\nResource: '{resource.lower()}'\r\nAssignment: (not found)\r\n"
            "DenyAssignmentId: null\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\n"
            f"Vault: {context.scope.key_vault};location={context.scope.location}\r\n"
        )
        return ServiceError(403, "Forbidden", message, inner_code="ForbiddenByRbac")

    def hosted(request: Request, params: dict[str, str]) -> str | None:
        """The api-version asked for, once the vault is this one and the version one Key Vault knows."""
        if params["vault"].lower() != context.key_vault.name.lower():
            return None
        version = request.query.get("api-version", "")
        if version not in API_VERSIONS:
            raise ServiceError(
                400,
                "BadParameter",
                f"The specified version ({version}) is not recognized. Consider using the latest supported "
                f"version ({API_VERSIONS[-2]}).",
            )
        return version

    def attributes(version: SecretVersion) -> dict[str, Any]:
        return {
            "enabled": True,
            "created": version.created,
            "updated": version.created,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
        }

    def bundle(vault: str, name: str, version: SecretVersion, *, value: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"attributes": attributes(version), "tags": version.tags}
        if value:
            body["value"] = version.value
            body["id"] = f"{vault_url(vault)}/secrets/{name}/{version.version}"
        else:
            body["id"] = f"{vault_url(vault)}/secrets/{name}"
        if version.content_type:
            body["contentType"] = version.content_type
        return body

    def list_secrets(request: Request, params: dict[str, str]) -> Response:
        api_version = hosted(request, params)
        if api_version is None:
            return DROPPED
        try:
            limit = int(request.query.get("maxresults", MAX_RESULTS))
            skip = int(request.query.get("$skiptoken", "0"))
        except ValueError:
            raise ServiceError(400, "BadParameter", "maxresults and $skiptoken are numbers.") from None
        if not 1 <= limit <= MAX_RESULTS:
            raise ServiceError(400, "BadParameter", f"maxresults must be between 1 and {MAX_RESULTS}.")
        names = context.key_vault.names()
        items = []
        for name in names[skip : skip + limit]:
            found = context.key_vault.get(name)
            if found is not None:
                items.append(bundle(params["vault"], found[0], found[1], value=False))
        next_link = None
        if skip + limit < len(names):
            next_link = (
                f"{vault_url(params['vault'])}/secrets?api-version={api_version}"
                f"&$skiptoken={skip + limit}&maxresults={limit}"
            )
        return json_response({"value": items, "nextLink": next_link})

    def get_secret(request: Request, params: dict[str, str]) -> Response:
        if hosted(request, params) is None:
            return DROPPED
        found = context.key_vault.get(params["name"], params.get("version"))
        if found is None:
            raise ServiceError(
                404,
                "SecretNotFound",
                f"A secret with (name/id) {params['name']} was not found in this key vault. If you recently "
                "deleted this secret you may be able to recover it using the correct recovery command. For help "
                "resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
            )
        return json_response(bundle(params["vault"], found[0], found[1], value=True))

    def set_secret(request: Request, params: dict[str, str]) -> Response:
        if hosted(request, params) is None:
            return DROPPED
        body = request.json() or {}
        if not isinstance(body.get("value"), str):
            raise ServiceError(400, "BadParameter", "The request body must hold the secret's 'value' as a string.")
        version = context.key_vault.set_secret(params["name"], body["value"], body.get("contentType"), body.get("tags"))
        return json_response(bundle(params["vault"], params["name"], version, value=True))

    options: dict[str, Any] = {"arm": False, "provider": PROVIDER, "authenticate": authenticate, "denied": denied}
    secrets = VAULT_PATH + "/secrets"
    router.add("GET", secrets, "vaults/secrets", list_secrets, action="readMetadata", **options)
    router.add("GET", secrets + "/{name}", "vaults/secrets", get_secret, action="getSecret", **options)
    router.add("GET", secrets + "/{name}/{version}", "vaults/secrets", get_secret, action="getSecret", **options)
    router.add("PUT", secrets + "/{name}", "vaults/secrets", set_secret, action="setSecret", **options)
