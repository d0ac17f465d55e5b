"""GET (or PUT, PATCH) a JSON resource that no SDK llmops uses has an operation for (role permissions and
assignments, Key Vault, managed identities, registries), as the SDK would.

The same azure-core pipeline the SDK's clients build: a bearer token for the service's scope, the retry
policy of retry.py, and errors raised as the SDK raises them (ClientAuthenticationError for 401,
ResourceNotFoundError for 404, else HttpResponseError with the service's code and message), so one
mapping (errors.py) serves both.
"""

from __future__ import annotations

from typing import Any

from azure.core import PipelineClient
from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    map_error,
)
from azure.core.pipeline import policies
from azure.core.rest import HttpRequest, HttpResponse

from llmops.backends.azureml.retry import azure_retry_policy
from llmops.version import __version__

_ERRORS: dict[int, type[HttpResponseError]] = {401: ClientAuthenticationError, 404: ResourceNotFoundError}


def get_json(
    url: str,
    credential: TokenCredential,
    scope: str,
    params: dict[str, str],
    retry_policy: policies.RetryPolicy[Any, Any] | None = None,
) -> Any:
    return send_json("GET", url, credential, scope, params, retry_policy=retry_policy)


def send_json(
    method: str,
    url: str,
    credential: TokenCredential,
    scope: str,
    params: dict[str, str],
    body: Any = None,
    retry_policy: policies.RetryPolicy[Any, Any] | None = None,
) -> Any:
    """The answer's JSON (None for an empty one); `body` is sent as JSON when not None."""
    pipeline = [
        policies.HeadersPolicy(),
        policies.UserAgentPolicy(sdk_moniker=f"llmops/{__version__}"),
        retry_policy or azure_retry_policy(),
        policies.BearerTokenCredentialPolicy(credential, scope),
        policies.ContentDecodePolicy(),
        policies.HttpLoggingPolicy(),
    ]
    client: PipelineClient[HttpRequest, HttpResponse] = PipelineClient(url, policies=pipeline)
    with client:
        content: dict[str, Any] = {} if body is None else {"json": body}
        response = client.send_request(
            HttpRequest(method, url, params=params, headers={"Accept": "application/json"}, **content))
        if response.status_code >= 400:
            map_error(response.status_code, response, _ERRORS)
            raise HttpResponseError(response=response)  # reads the service's {"error": {code, message}}
        return response.json() if response.content else None
