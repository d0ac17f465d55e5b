"""The MLClient of an env's workspace: its subscription, resource group and workspace, in its cloud.

Everything llmops does in Azure ML goes through this client, so it carries llmops' choices once: the
retry policy (retry.py), no progress bars on stdout (results go there), and no SDK telemetry: a CI runner
must not depend on reaching Application Insights, and llmops sends nothing anywhere of its own.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from azure.core.credentials import TokenCredential
from azure.core.pipeline.policies import RetryPolicy

from llmops.backends.azureml.credential import azure_credential
from llmops.backends.azureml.retry import azure_retry_policy
from llmops.backends.azureml.settings import AzureSettings
from llmops.version import __version__

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

# azure-ai-ml logs every failed call at ERROR ("ActivityCompleted: ... HowEnded=Failure"), azure-identity
# warns for each credential of the chain that had no token, and azure-core logs each retry: llmops reports
# a failure itself, in one line, so these speak only with --verbose.
SDK_LOGGERS = ("azure", "msal")


def quiet_sdk_logs() -> None:
    """Called at the CLI edge unless --verbose: the SDKs' own logs stay off stderr."""
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def ml_client(
    settings: AzureSettings,
    credential: TokenCredential | None = None,
    *,
    retry_policy: RetryPolicy[Any, Any] | None = None,
    show_progress: bool = False,
) -> MLClient:
    """A real MLClient for the env's workspace; `credential` defaults to DefaultAzureCredential for its cloud."""
    from azure.ai.ml import MLClient

    options: dict[str, Any] = {
        "enable_telemetry": False,
        "show_progress": show_progress,
        "retry_policy": retry_policy or azure_retry_policy(),
        "user_agent": f"llmops/{__version__}",
    }
    if settings.cloud.metadata is not None:
        # A custom cloud: azure-ai-ml registers its endpoints under its name (the first registration wins).
        options["cloud_metadata"] = dict(settings.cloud.metadata)
    return MLClient(
        credential or azure_credential(settings.cloud),
        settings.subscription_id,
        settings.resource_group,
        settings.workspace,
        cloud=settings.cloud.name,
        **options,
    )
