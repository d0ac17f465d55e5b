"""A managed identity token endpoint, App Service style, so the product's own credential gets real tokens.

On App Service, Functions and Container Apps the platform sets `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`;
`GET $IDENTITY_ENDPOINT?resource=<resource>&api-version=2019-08-01` with the header `X-IDENTITY-HEADER:
$IDENTITY_HEADER` answers `{"access_token", "expires_on", "resource", "token_type", "client_id"}`.
azure-identity's ManagedIdentityCredential (through MSAL) picks that protocol whenever both variables are
set, before any other way of finding an identity, so DefaultAzureCredential fetches its token here
without probing anything first. `emulator.identity_environment()` gives the two variables.
"""

from __future__ import annotations

import uuid

from ..context import Context
from ..credential import CLIENT_ID, mint_token
from ..http import Request, Response, json_response
from ..routing import Router

PATH = "/msi/token"
API_VERSION = "2019-08-01"


def _refused(status: int, message: str) -> Response:
    # The token service's own error shape, which MSAL reads as `statusCode` and `message`.
    return json_response({"statusCode": status, "message": message, "correlationId": str(uuid.uuid4())}, status)


def register(router: Router, context: Context) -> None:
    def token(request: Request, params: dict[str, str]) -> Response:
        if request.headers.get("x-identity-header") != context.identity_header:
            return _refused(401, "The X-IDENTITY-HEADER header is missing or is not this host's IDENTITY_HEADER.")
        if request.query.get("api-version") != API_VERSION:
            return _refused(400, f"The api-version '{request.query.get('api-version', '')}' is not supported.")
        resource = request.query.get("resource", "")
        if not resource:
            return _refused(400, "The 'resource' query parameter is required.")
        access_token, expires_on = mint_token(resource)
        context.tokens_issued.append(resource)
        return json_response(
            {
                "access_token": access_token,
                "expires_on": str(expires_on),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": CLIENT_ID,
            }
        )

    router.add("GET", PATH, "managedIdentity", token, arm=False, public=True)
