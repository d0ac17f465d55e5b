"""`open_webapp`: the web app of an env's webapp_endpoint block, as a deployment target (backends/targets.py).

The one place a web app is opened from, as open_backend is for backends: it needs the Azure variables the CLI edge
read (azure_edge) for the subscription and cloud, and the env's KEYVAULT_NAME for the app's Key Vault references.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from llmops.backends.azureml.settings import AzureVariables
    from llmops.backends.azureml.webapp.deploy_target import WebAppDeployTarget
    from llmops.backends.targets import ImageDigest
    from llmops.config.use_case import UseCase


def open_webapp(use_case: UseCase, env: str, image_digest: ImageDigest, azure: AzureVariables | None = None,
                credential: TokenCredential | None = None, start_timeout: float | None = None) -> WebAppDeployTarget:
    """The env's web app; an LlmopsError naming every missing or malformed key otherwise. `image_digest` names a
    model version's image; `start_timeout`: how long a slot may take to answer /health after a release (default:
    host.START_TIMEOUT_S)."""
    from llmops.backends.azureml.settings import AzureVariables, azure_settings
    from llmops.backends.azureml.webapp.deploy_target import WebAppDeployTarget
    from llmops.backends.azureml.webapp.host import START_TIMEOUT_S, AzureWebApp
    from llmops.backends.azureml.webapp.target import webapp_target

    settings = azure_settings(use_case, env, azure or AzureVariables())
    host = AzureWebApp(webapp_target(use_case, env, settings), credential,
                       START_TIMEOUT_S if start_timeout is None else start_timeout)
    return WebAppDeployTarget(host, use_case.name, env, image_digest)
