"""The identity llmops acts as in Azure: DefaultAzureCredential, and who it turned out to be.

DefaultAzureCredential tries, in order: a service principal from AZURE_CLIENT_ID/AZURE_TENANT_ID/
AZURE_CLIENT_SECRET (or a certificate), workload identity (AZURE_FEDERATED_TOKEN_FILE), a managed
identity, then the developer tools: VS Code, `az login`, Azure PowerShell, `azd auth login`. That covers
a laptop (`az login`), GitHub Actions (`azure/login` with OIDC federated credentials logs the Azure CLI
in) and Azure (the compute's managed identity) with no key or secret in llmops. llmops sets no
exclusions: none of the credentials before the developer tools makes a network call unless its own
variables are set (the managed identity one probes the instance metadata service briefly, and not at all
when IDENTITY_ENDPOINT/IDENTITY_HEADER or MSI_ENDPOINT name the platform's endpoint). A user narrows the
chain with AZURE_TOKEN_CREDENTIALS, which DefaultAzureCredential reads itself: `prod` (environment,
workload and managed identity only), `dev` (the developer tools only), or one credential's name such as
`ManagedIdentityCredential` or `AzureCliCredential`. The tests set `ManagedIdentityCredential`, so a
developer's own `az login` never answers for the emulator's identity.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from azure.core.credentials import TokenCredential

from llmops.backends.azureml.cloud import DEFAULT_CLOUD, AzureCloud
from llmops.errors import LlmopsError


def azure_credential(cloud: AzureCloud) -> TokenCredential:
    from azure.identity import DefaultAzureCredential

    options: dict[str, Any] = {}
    if cloud.name != DEFAULT_CLOUD:
        # Sovereign and custom clouds sign in elsewhere; managed identities ignore this (one cloud each).
        options["authority"] = cloud.active_directory
    try:
        return DefaultAzureCredential(**options)
    except ValueError as error:  # AZURE_TOKEN_CREDENTIALS names no credential or group it knows
        raise LlmopsError(f"AZURE_TOKEN_CREDENTIALS: {error}") from error


@dataclass(frozen=True)
class Identity:
    """Who a token is for, from its claims: what a role assignment needs (the object id) and a name to show."""

    credential: str  # the credential of the chain that gave the token, e.g. AzureCliCredential
    name: str  # a user's sign-in name, or "application <client id>"
    object_id: str
    tenant_id: str


def identity_of(credential: TokenCredential, token: str) -> Identity:
    claims = _claims(token)
    name = claims.get("upn") or claims.get("unique_name") or claims.get("preferred_username")
    if not name:
        name = f"application {claims.get('appid') or claims.get('azp') or '?'}"
    # DefaultAzureCredential keeps the credential that answered (no public accessor); shown, never relied on.
    chosen = getattr(credential, "_successful_credential", None) or credential
    return Identity(type(chosen).__name__, str(name), str(claims.get("oid", "")), str(claims.get("tid", "")))


def _claims(token: str) -> dict[str, Any]:
    """A JWT's claims, read without checking its signature: only to name the identity, never to trust it."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}
