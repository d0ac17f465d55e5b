"""Azure errors as one line each: what failed, naming the thing (and its config key), and the fix.

The SDK's exceptions carry what is needed: the service's error code and message (`HttpResponseError
.error`), the request (`.response.request.url`), and for network failures the transport's exception.
`azure_error` turns the ones users commonly meet into an AzureFailure (an LlmopsError: exit 1, one line);
the SDK's exception stays its __cause__, whose traceback `--verbose` prints. `kind` lets a caller tell
"not found" (a first version to create) from the failures that must stop a step.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from llmops.backends.azureml.retry import MAX_RETRY_AFTER
from llmops.backends.azureml.roles import role_for
from llmops.backends.azureml.settings import SUBSCRIPTION, AzureSettings
from llmops.errors import LlmopsError

LOGIN = "login"  # no credential, or the login was refused (401)
FORBIDDEN = "forbidden"  # 403: a role is missing
NOT_FOUND = "not_found"
QUOTA = "quota"
THROTTLED = "throttled"
UNAVAILABLE = "unavailable"  # 5xx after the retries
NETWORK = "network"
OTHER = "other"


class AzureFailure(LlmopsError):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def is_azure_error(error: BaseException) -> bool:
    import requests

    # azure-ai-ml's MlException is an AzureError: importing it here (seconds) would only delay the message.
    return isinstance(error, (AzureError, requests.RequestException))


@contextmanager
def azure_errors(settings: AzureSettings) -> Iterator[None]:
    """Turns an Azure exception raised inside the block into its one-line AzureFailure."""
    try:
        yield
    except LlmopsError:
        raise
    except Exception as error:
        if not is_azure_error(error):
            raise
        raise azure_error(error, settings) from error


def azure_error(error: BaseException, settings: AzureSettings) -> AzureFailure:
    if isinstance(error, ClientAuthenticationError) and error.response is None:
        return _no_login(error)
    if isinstance(error, HttpResponseError) and error.response is not None:
        status, code, message = error.status_code or 0, *_service_error(error)
        found = _by_status(status, code, message, error, settings)
        if found is not None:
            return found
        return AzureFailure(OTHER, f"Azure answered {status} {code or error.reason}: {_first_line(message)}")
    if isinstance(error, (ServiceRequestError, ServiceResponseError)) or _is_requests_error(error):
        return _network(error, settings)
    return AzureFailure(OTHER, f"Azure ML: {_first_line(str(error))}")


def _by_status(
    status: int, code: str, message: str, error: HttpResponseError, settings: AzureSettings
) -> AzureFailure | None:
    if status == 401:
        return _unauthorized(code, message, settings)
    if status == 403 and "quota" not in message.lower():
        return _forbidden(code, message)
    if code in ("QuotaExceeded", "OutOfQuota") or (status in (400, 403, 409) and "quota" in message.lower()):
        return AzureFailure(QUOTA, f"Azure ML quota exceeded ({code or status}): {_first_line(message)}: request "
                                   "more vCPU quota for this VM family in the Azure portal (Quotas, Machine learning) "
                                   f"or use a smaller VM size ({settings.keys('INSTANCE_TYPE')})")
    if status == 404 or "was not found" in message:
        return _not_found(code, message, error, settings)
    if status == 429:
        return _throttled(code, error)
    if status >= 500:
        return AzureFailure(UNAVAILABLE, f"Azure answered {status} {code} after llmops' retries: "
                                         f"{_first_line(message)}; run again later (https://azure.status.microsoft "
                                         "lists outages)")
    return None


def _no_login(error: ClientAuthenticationError) -> AzureFailure:
    refused = re.search(r"AADSTS\d+", str(error.message))
    if refused:
        return AzureFailure(LOGIN, f"Microsoft Entra ID refused the login ({refused[0]}): run 'az login' again "
                                   "(laptop), or check the federated credential azure/login uses (CI)")
    return AzureFailure(LOGIN, "no Azure login found: run 'az login' (laptop), log in with azure/login and OIDC "
                               "before llmops (GitHub Actions), or give the compute a managed identity (Azure); "
                               "--verbose shows what each credential said")


def _unauthorized(code: str, message: str, settings: AzureSettings) -> AzureFailure:
    if code == "InvalidAuthenticationTokenTenant":
        return AzureFailure(LOGIN, f"{SUBSCRIPTION} '{settings.subscription_id}' (from "
                                   f"{settings.subscription_from}) is not in the tenant you are logged in to: "
                                   "az login --tenant <its tenant id>, or set it to a subscription of your tenant")
    return AzureFailure(LOGIN, f"Azure refused the login token ({code or 401}: {_first_line(message)}): run "
                               "'az login' again (laptop), or check the identity azure/login or the managed "
                               "identity signs in as")


_ARM_DENIED = re.compile(r"object id '(?P<oid>[^']+)'.* perform action(?:\(s\))? '(?P<action>[^']+)' "
                         r"(?:over|on the linked) scope(?:\(s\))? '(?P<scope>[^']+)'", re.DOTALL)
_KV_DENIED = re.compile(r"oid=(?P<oid>[^;\s]+).*Action: '(?P<action>[^']+)'.*Resource: '(?P<scope>[^']+)'",
                        re.DOTALL)
_KV_POLICY = re.compile(r"oid=(?P<oid>[^;\s']+).*does not have secrets (?P<permission>\w+) permission on key "
                        r"vault '(?P<vault>[^;']+)", re.DOTALL)


def _forbidden(code: str, message: str) -> AzureFailure:
    policy = _KV_POLICY.search(message)
    if policy:
        vault, oid = policy["vault"], policy["oid"]
        return AzureFailure(FORBIDDEN, f"key vault '{vault}' does not let object id {oid} {policy['permission']} "
                                       "secrets (access policies): az keyvault set-policy -n "
                                       f"{vault} --object-id {oid} --secret-permissions get list, or switch the "
                                       "vault to Azure RBAC and assign Key Vault Secrets User")
    denied = _ARM_DENIED.search(message) or _KV_DENIED.search(message)
    if denied is None:
        return AzureFailure(FORBIDDEN, f"Azure denied the request (403 {code}): {_first_line(message)}; ask an "
                                       "owner of the workspace for the role AzureML Data Scientist")
    action, oid = denied["action"], denied["oid"]
    role, (scope, described) = role_for(action), assignment_scope(denied["scope"])
    return AzureFailure(FORBIDDEN, f"Azure denied {action} on {described} ({code}): the identity (object id "
                                   f"{oid}) needs the role '{role}' there: az role assignment create "
                                   f"--assignee-object-id {oid} --role \"{role}\" --scope {scope}")


_RESOURCE = re.compile(r"(?i)^(?P<scope>/subscriptions/[^/]+/resourcegroups/(?P<group>[^/]+)"
                       r"(?:/providers/[^/]+/(?P<type>[^/]+)/(?P<name>[^/]+))?)")
_KINDS = {"workspaces": "workspace", "vaults": "key vault", "storageaccounts": "storage account",
          "userassignedidentities": "managed identity"}


def assignment_scope(scope: str) -> tuple[str, str]:
    """(where to assign a role for access to `scope`, that place described): the resource `scope` lies in."""
    found = _RESOURCE.match(scope)
    if found is None:
        subscription = re.match(r"(?i)^/subscriptions/[^/]+", scope)
        return (subscription[0], f"subscription {subscription[0].split('/')[2]}") if subscription else (scope, scope)
    if found["type"]:
        return found["scope"], f"{_KINDS.get(found['type'].lower(), found['type'])} '{found['name']}'"
    return found["scope"], f"resource group '{found['group']}'"


_ML_RESOURCE = re.compile(r"The Resource '(?P<resource>[^']+)' under resource group")
_WORKSPACE = re.compile(r"(?i)Microsoft\.MachineLearningServices/workspaces/[^/]+")
_MISSING_PLACES = ("SubscriptionNotFound", "ResourceGroupNotFound")


def missing_in_workspace(error: BaseException) -> bool:
    """Whether `error` is a 404 for something inside the workspace (an asset with no version yet), not for the
    subscription, resource group or workspace the env names: only the first means "none yet"."""
    if not isinstance(error, HttpResponseError) or error.response is None or error.status_code != 404:
        return False
    code, message = _service_error(error)
    resource = _ML_RESOURCE.search(message)
    return code not in _MISSING_PLACES and not (resource and _WORKSPACE.fullmatch(resource["resource"]))


_COMPUTE = re.compile(r"(?i)/computes/(?P<name>[^/'\s?]+)")


def _not_found(code: str, message: str, error: HttpResponseError, settings: AzureSettings) -> AzureFailure:
    keys = settings.keys
    if code == "SubscriptionNotFound":
        return AzureFailure(NOT_FOUND, f"{SUBSCRIPTION} '{settings.subscription_id}' (from "
                                       f"{settings.subscription_from}): subscription not found; set it to yours "
                                       "(az account list -o table)")
    if code == "ResourceGroupNotFound":
        return AzureFailure(NOT_FOUND, f"{keys('RESOURCE_GROUP_NAME')}: resource group '{settings.resource_group}' "
                                       f"not found in subscription {settings.subscription_id}; set it to your "
                                       "workspace's resource group (az group list -o table)")
    resource = _ML_RESOURCE.search(message)
    if resource and _WORKSPACE.fullmatch(resource["resource"]):
        return AzureFailure(NOT_FOUND, f"{keys('WORKSPACE_NAME')}: workspace '{settings.workspace}' not found in "
                                       f"resource group '{settings.resource_group}'; set it to your Azure ML "
                                       f"workspace's name (az ml workspace list -g {settings.resource_group} -o table)")
    url = str(getattr(getattr(error.response, "request", None), "url", "") or "")
    compute = _COMPUTE.search(resource["resource"] if resource else message) or _COMPUTE.search(urlsplit(url).path)
    if compute:
        return AzureFailure(NOT_FOUND, f"{keys('COMPUTE_NAME')}: compute '{compute['name']}' not found in workspace "
                                       f"'{settings.workspace}'; set it to a compute cluster's name (az ml compute "
                                       f"list -g {settings.resource_group} -w {settings.workspace} -o table), or "
                                       "remove it to run on serverless compute")
    return AzureFailure(NOT_FOUND, f"not found in Azure ({code or 404}): {_first_line(message)}")


def _throttled(code: str, error: HttpResponseError) -> AzureFailure:
    headers = getattr(error.response, "headers", None) or {}
    wait = _seconds(headers.get("Retry-After", ""))
    if wait is not None and wait > MAX_RETRY_AFTER:
        return AzureFailure(THROTTLED, f"Azure is throttling requests (429 {code}) and asked to wait {wait:.0f} s, "
                                       f"longer than llmops waits ({MAX_RETRY_AFTER} s): run again after that")
    return AzureFailure(THROTTLED, f"Azure kept throttling requests (429 {code}) through llmops' retries, which "
                                   "wait as long as Azure asks: wait a few minutes and run again; other jobs or "
                                   "scripts may be calling the same subscription")


def _network(error: BaseException, settings: AzureSettings) -> AzureFailure:
    url, reason = _failed_url(error), _network_reason(error)
    host = _host(url) if url else _host_in_message(error)
    vault = settings.cloud.vault_url(settings.keyvault) if settings.keyvault and settings.cloud.keyvault_url else ""
    if vault and url.startswith(vault):
        return AzureFailure(NETWORK, f"{settings.keys('KEYVAULT_NAME')}: cannot reach key vault '{settings.keyvault}' "
                                     f"at {host} ({reason}); check the name (az keyvault list -o table)")
    return AzureFailure(NETWORK, f"cannot reach {host or 'Azure'} ({reason}): check the network, and any proxy "
                                 "(HTTPS_PROXY) or firewall between here and Azure")


_REASONS = (
    (("name or service not known", "nodename nor servname", "getaddrinfo failed", "name resolution",
      "nameresolutionerror"), "the name does not resolve"),
    (("connection refused", "errno 111"), "connection refused"),
    (("certificate verify failed", "sslerror", "ssl:"), "TLS certificate not trusted; behind a proxy that inspects "
                                                       "TLS, set REQUESTS_CA_BUNDLE to its CA bundle"),
    (("timed out", "timeout"), "timed out"),
    (("remotedisconnected", "connection aborted", "connection reset", "remote end closed"),
     "the connection closed before an answer"),
)


def _network_reason(error: BaseException) -> str:
    text = " ".join(str(e) for e in _chain(error)).lower()
    return next((reason for needles, reason in _REASONS if any(n in text for n in needles)), "network error")


def _failed_url(error: BaseException) -> str:
    """The URL of the request that failed, which requests' exceptions keep."""
    for link in _chain(error):
        url = getattr(getattr(link, "request", None), "url", None)
        if isinstance(url, str) and url:
            return url
    return ""


def _host_in_message(error: BaseException) -> str:
    found = re.search(r"host='(?P<host>[^']+)', port=(?P<port>\d+)", str(error))
    return f"{found['host']}:{found['port']}" if found else ""


def _chain(error: BaseException) -> list[BaseException]:
    """The error and what it wraps: azure-core's inner_exception, then __cause__/__context__."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = getattr(current, "inner_exception", None) or current.__cause__ or current.__context__
    return seen


def _is_requests_error(error: BaseException) -> bool:
    import requests

    return isinstance(error, requests.RequestException)


def _host(url: str) -> str:
    return urlsplit(url).netloc


def _service_error(error: HttpResponseError) -> tuple[str, str]:
    """The service's error code and message (`{"error": {"code", "message"}}`), or what the SDK said."""
    details = error.error
    code = (details.code if details else None) or ""
    message = (details.message if details else None) or str(error.message or error.reason or "")
    return str(code), str(message)


def _first_line(text: str) -> str:
    """The service's message, shortened to its first line, without a final period (it goes inside ours)."""
    line = next((line.strip() for line in str(text).splitlines() if line.strip()), "").rstrip(".")
    return line if len(line) <= 300 else line[:297] + "..."


def _seconds(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None
