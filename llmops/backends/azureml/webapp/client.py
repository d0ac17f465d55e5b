"""The management SDK's client for web apps, on the env's cloud, with llmops' credential and retry policy.

The same choices as the Azure ML client (workspace.py): DefaultAzureCredential for the env's cloud unless a
credential is given, the retry policy of retry.py, llmops' user agent; every call goes to the cloud's
resource_manager URL (a custom cloud's too), with tokens for its scope.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from azure.core.credentials import TokenCredential

from llmops.backends.azureml.credential import azure_credential
from llmops.backends.azureml.retry import azure_retry_policy
from llmops.backends.azureml.settings import AzureSettings
from llmops.version import __version__

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient

POLLING_INTERVAL_S = 5  # between polls of a long-running operation that gives no Retry-After


def web_client(settings: AzureSettings, credential: TokenCredential | None = None) -> WebSiteManagementClient:
    from azure.mgmt.web import WebSiteManagementClient

    return WebSiteManagementClient(
        credential or azure_credential(settings.cloud),
        settings.subscription_id,
        base_url=settings.cloud.resource_manager.rstrip("/"),
        credential_scopes=[settings.cloud.arm_scope],
        retry_policy=azure_retry_policy(),
        user_agent=f"llmops/{__version__}",
        polling_interval=POLLING_INTERVAL_S,
    )
