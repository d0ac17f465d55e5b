"""The env's Key Vault (KEYVAULT_NAME), reached through its data plane with the same credential as Azure ML.

Read with azure-core's pipeline (http.py) rather than azure-keyvault-secrets, which llmops does not
depend on: `GET {vault}/secrets?api-version=7.4` lists secret names without reading any value, which is
what `azure check` needs to know the identity may reach the vault; `GET {vault}/secrets/{name}` reads one
secret, which is how a connection's key reaches the nodes of a job (node/vault_connections.py).
"""

from __future__ import annotations

from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceNotFoundError
from azure.core.pipeline.policies import RetryPolicy

from llmops.backends.azureml.http import get_json
from llmops.backends.azureml.settings import AzureSettings

API_VERSION = "7.4"


def secret_names(
    settings: AzureSettings, credential: TokenCredential, retry_policy: RetryPolicy[Any, Any] | None = None
) -> list[str]:
    """The names of the vault's secrets on its first page (at most 25); their values are not read."""
    cloud = settings.cloud
    answer = get_json(cloud.vault_url(settings.keyvault) + "/secrets", credential, cloud.keyvault_scope,
                      {"api-version": API_VERSION, "maxresults": "25"}, retry_policy)
    return [str(item.get("id", "")).rstrip("/").rsplit("/", 1)[-1] for item in answer.get("value") or []]


def secret_value(
    vault_url: str, scope: str, name: str, credential: TokenCredential,
    retry_policy: RetryPolicy[Any, Any] | None = None,
) -> str | None:
    """The latest value of secret `name`; None when the vault has no such secret. Never logged."""
    try:
        answer = get_json(f"{vault_url}/secrets/{name}", credential, scope, {"api-version": API_VERSION}, retry_policy)
    except ResourceNotFoundError:
        return None
    return str(answer.get("value") or "")
