"""The env's Key Vault (KEYVAULT_NAME), reached through its data plane with the same credential as Azure ML.

Read with azure-core's pipeline (http.py) rather than azure-keyvault-secrets, which llmops does not
depend on: `GET {vault}/secrets?api-version=7.4` lists secret names without reading any value, which is
what `azure check` needs to know the identity may reach the vault.
"""

from __future__ import annotations

from azure.core.credentials import TokenCredential
from azure.core.pipeline.policies import RetryPolicy

from llmops.backends.azureml.http import get_json
from llmops.backends.azureml.settings import AzureSettings

API_VERSION = "7.4"


def secret_names(
    settings: AzureSettings, credential: TokenCredential, retry_policy: RetryPolicy | None = None
) -> list[str]:
    """The names of the vault's secrets on its first page (at most 25); their values are not read."""
    cloud = settings.cloud
    answer = get_json(cloud.vault_url(settings.keyvault) + "/secrets", credential, cloud.keyvault_scope,
                      {"api-version": API_VERSION, "maxresults": "25"}, retry_policy)
    return [str(item.get("id", "")).rstrip("/").rsplit("/", 1)[-1] for item in answer.get("value") or []]
