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
# Azure ML's own protocol, in an online deployment's container: `GET $MSI_ENDPOINT?resource=<resource>&api-version=
# 2017-09-01` with the header `secret: $MSI_SECRET`, expires_on as a number. The emulator sets the two variables for
# each online deployment's server (online_serving.py), as Azure ML does.
AZURE_ML_PATH = "/msi/azureml/token"
AZURE_ML_API_VERSION = "2017-09-01"
DEPLOYMENT_OBJECT_ID = "dddddddd-0000-0000-0000-000000000001"  # an endpoint's system-assigned identity


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

    def azure_ml_token(request: Request, params: dict[str, str]) -> Response:
        if request.headers.get("secret") != context.identity_header:
            return _refused(401, "The secret header is missing or is not this deployment's MSI_SECRET.")
        if request.query.get("api-version") != AZURE_ML_API_VERSION:
            return _refused(400, f"The api-version '{request.query.get('api-version', '')}' is not supported.")
        resource = request.query.get("resource", "")
        if not resource:
            return _refused(400, "The 'resource' query parameter is required.")
        access_token, expires_on = mint_token(resource, DEPLOYMENT_OBJECT_ID)
        context.tokens_issued.append(resource)
        return json_response({"access_token": access_token, "expires_on": expires_on, "resource": resource,
                              "token_type": "Bearer"})

    router.add("GET", AZURE_ML_PATH, "managedIdentity", azure_ml_token, arm=False, public=True)
