"""What a user reads when an Azure call fails: real SDK calls, with the product's MLClient and credential,
against the emulator and its faults; each failure is one line, asserted whole."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from azure.ai.ml import command
from azure.ai.ml.entities import Environment

from llmops.backends.azureml.credential import azure_credential
from llmops.backends.azureml.errors import (
    FORBIDDEN,
    LOGIN,
    NETWORK,
    NOT_FOUND,
    QUOTA,
    THROTTLED,
    UNAVAILABLE,
    AzureFailure,
    azure_errors,
)
from llmops.backends.azureml.key_vault import secret_names
from llmops.backends.azureml.retry import azure_retry_policy
from llmops.backends.azureml.settings import AzureSettings
from llmops.backends.azureml.workspace import ml_client
from tests.support.azureml_emulator import AzureMLEmulator
from tests.support.azureml_emulator.product import azure_settings_for, llmops_environment, use_environment

pytest_plugins = ["tests.support.azureml_emulator.fixtures"]

SUB = "00000000-0000-0000-0000-000000000000"
WS_ID = f"/subscriptions/{SUB}/resourceGroups/llmops-rg/providers/Microsoft.MachineLearningServices/workspaces/" \
        "llmops-ws"
OID = "66666666-7777-8888-9999-000000000000"
KEY = "use_cases/mini/llmops_config.json: envs[2]"
NETWORK_FIX = "check the network, and any proxy (HTTPS_PROXY) or firewall between here and Azure"
ENVIRONMENT = Environment(image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Case:
    id: str
    call: Callable[[Any, Any], Any]  # (MLClient, settings) -> anything; it is to raise
    kind: str
    expected: Callable[[AzureSettings], str] | str
    arrange: Callable[[AzureMLEmulator], None] = lambda emulator: None
    keys: dict[str, str] = field(default_factory=dict)
    variables: Callable[[AzureMLEmulator], dict[str, str]] = lambda emulator: {}
    retries: int = 0  # the product's retry policy, with this many retries


def _unreachable_cloud(emulator: AzureMLEmulator) -> dict[str, str]:
    """A cloud whose every endpoint is a loopback port nothing listens on (a name of its own: the first wins)."""
    port = _closed_port()
    metadata = {key: f"https://127.0.0.1:{port}/" if key != "storage_endpoint" else value
                for key, value in emulator.cloud_metadata().items()}
    return {"LLMOPS_AZURE_CLOUD": f"LlmopsUnreachable{port}", "LLMOPS_AZURE_CLOUD_METADATA": json.dumps(metadata)}


CASES = [
    Case("403 names the action, role and scope", lambda ml, s: ml.data.get("reviews", version="1"), FORBIDDEN,
         "Azure denied Microsoft.MachineLearningServices/workspaces/data/versions/read on workspace 'llmops-ws' "
         f"(AuthorizationFailed): the identity (object id {OID}) needs the role 'AzureML Data Scientist' there: az "
         f"role assignment create --assignee-object-id {OID} --role \"AzureML Data Scientist\" --scope {WS_ID}",
         arrange=lambda e: e.faults.forbid("workspaces/data/versions/read")),
    Case("403 from key vault", lambda ml, s: secret_names(s, azure_credential(s.cloud), azure_retry_policy(0)),
         FORBIDDEN,
         "Azure denied Microsoft.KeyVault/vaults/secrets/readMetadata/action on key vault 'llmops-kv' (Forbidden): "
         f"the identity (object id {OID}) needs the role 'Key Vault Secrets User' there: az role assignment create "
         f"--assignee-object-id {OID} --role \"Key Vault Secrets User\" --scope /subscriptions/{SUB}/resourcegroups/"
         "llmops-rg/providers/microsoft.keyvault/vaults/llmops-kv",
         arrange=lambda e: e.faults.forbid("secrets/readMetadata")),
    Case("403 for a linked scope", lambda ml, s: ml.compute.get("cpu-cluster"), FORBIDDEN,
         "Azure denied Microsoft.ManagedIdentity/userAssignedIdentities/assign/action on managed identity 'llmops-id' "
         f"(LinkedAuthorizationFailed): the identity (object id {OID}) needs the role 'Managed Identity Operator' "
         f"there: az role assignment create --assignee-object-id {OID} --role \"Managed Identity Operator\" --scope "
         f"/subscriptions/{SUB}/"
         "resourcegroups/llmops-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/llmops-id",
         arrange=lambda e: e.faults.fail(403, "LinkedAuthorizationFailed", f"The client 'x' with object id '{OID}' has "
                                         "permission to perform action 'Microsoft.MachineLearningServices/workspaces/"
                                         f"computes/read' on scope '{WS_ID}/computes/cpu-cluster'; however, it does "
                                         "not have permission to perform action 'Microsoft.ManagedIdentity/"
                                         "userAssignedIdentities/assign/action' on the linked scope(s) '/subscriptions/"
                                         f"{SUB}/resourcegroups/llmops-rg/providers/Microsoft.ManagedIdentity/"
                                         "userAssignedIdentities/llmops-id' or the linked scope(s) are invalid.",
                                         path="/computes/")),
    Case("403 from a key vault with access policies",
         lambda ml, s: secret_names(s, azure_credential(s.cloud), azure_retry_policy(0)), FORBIDDEN,
         f"key vault 'llmops-kv' does not let object id {OID} list secrets (access policies): az keyvault set-policy "
         f"-n llmops-kv --object-id {OID} --secret-permissions get list, or switch the vault to Azure RBAC and assign "
         "Key Vault Secrets User",
         arrange=lambda e: e.faults.fail(403, "Forbidden", "The user, group or application 'appid=x;oid="
                                         f"{OID};iss=https://sts.windows.net/t/' does not have secrets list "
                                         "permission on key vault 'llmops-kv;location=westeurope'. For help resolving "
                                         "this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
                                         path="/keyvault/")),
    Case("missing workspace", lambda ml, s: ml.workspaces.get(s.workspace), NOT_FOUND,
         f"{KEY}.WORKSPACE_NAME: workspace 'nope' not found in resource group 'llmops-rg'; set it to your Azure ML "
         "workspace's name (az ml workspace list -g llmops-rg -o table)", keys={"WORKSPACE_NAME": "nope"}),
    Case("a workspace call in a missing workspace", lambda ml, s: ml.datastores.get_default(), NOT_FOUND,
         f"{KEY}.WORKSPACE_NAME: workspace 'nope' not found in resource group 'llmops-rg'; set it to your Azure ML "
         "workspace's name (az ml workspace list -g llmops-rg -o table)", keys={"WORKSPACE_NAME": "nope"}),
    Case("missing resource group", lambda ml, s: ml.workspaces.get(s.workspace), NOT_FOUND,
         f"{KEY}.RESOURCE_GROUP_NAME: resource group 'other-rg' not found in subscription {SUB}; set it to your "
         "workspace's resource group (az group list -o table)", keys={"RESOURCE_GROUP_NAME": "other-rg"}),
    Case("missing subscription", lambda ml, s: ml.workspaces.get(s.workspace), NOT_FOUND,
         "AZURE_SUBSCRIPTION_ID '11111111-2222-3333-4444-555555555555' (from the environment): subscription not "
         "found; set it to yours (az account list -o table)",
         variables=lambda e: {"AZURE_SUBSCRIPTION_ID": "11111111-2222-3333-4444-555555555555"}),
    Case("missing compute", lambda ml, s: ml.compute.get(s.compute), NOT_FOUND,
         f"{KEY}.COMPUTE_NAME: compute 'gpu-cluster' not found in workspace 'llmops-ws'; set it to a compute "
         "cluster's name (az ml compute list -g llmops-rg -w llmops-ws -o table), or remove it to run on serverless "
         "compute", keys={"COMPUTE_NAME": "gpu-cluster"}),
    Case("a job on a missing compute",
         lambda ml, s: ml.jobs.create_or_update(command(command="echo", environment=ENVIRONMENT, compute=s.compute)),
         NOT_FOUND,
         f"{KEY}.COMPUTE_NAME: compute 'gpu-cluster' not found in workspace 'llmops-ws'; set it to a compute "
         "cluster's name (az ml compute list -g llmops-rg -w llmops-ws -o table), or remove it to run on serverless "
         "compute", keys={"COMPUTE_NAME": "gpu-cluster"}),
    Case("quota exceeded",
         lambda ml, s: ml.jobs.create_or_update(command(command="echo", environment=ENVIRONMENT)), QUOTA,
         "Azure ML quota exceeded (QuotaExceeded): Requested 16 vCPUs of family standardDSv2Family, 4 of 24 are "
         f"free in westeurope: request more vCPU quota for this VM family in the Azure portal (Quotas, Machine "
         f"learning) or use a smaller VM size ({KEY}.INSTANCE_TYPE)",
         arrange=lambda e: e.faults.fail(400, "QuotaExceeded", "Requested 16 vCPUs of family standardDSv2Family, 4 "
                                         "of 24 are free in westeurope.", path="/jobs/", method="PUT")),
    Case("throttled beyond the retries", lambda ml, s: ml.datastores.get_default(), THROTTLED,
         "Azure kept throttling requests (429 TooManyRequests) through llmops' retries, which wait as long as Azure "
         "asks: wait a few minutes and run again; other jobs or scripts may be calling the same subscription",
         arrange=lambda e: e.faults.throttle(2, status=429, retry_after=1, path="/datastores"), retries=1),
    Case("throttled for longer than llmops waits", lambda ml, s: ml.datastores.get_default(), THROTTLED,
         "Azure is throttling requests (429 TooManyRequests) and asked to wait 3600 s, longer than llmops waits "
         "(60 s): run again after that",
         arrange=lambda e: e.faults.throttle(1, status=429, retry_after=3600, path="/datastores"), retries=4),
    Case("unavailable beyond the retries", lambda ml, s: ml.datastores.get_default(), UNAVAILABLE,
         "Azure answered 503 ServiceUnavailable after llmops' retries: The service is temporarily unavailable. Retry "
         "after the time given; run again later (https://azure.status.microsoft lists outages)",
         arrange=lambda e: e.faults.throttle(2, status=503, retry_after=1, path="/datastores"), retries=1),
    Case("expired login token", lambda ml, s: ml.compute.get("cpu-cluster"), LOGIN,
         "Azure refused the login token (ExpiredAuthenticationToken: The access token expiry UTC time is earlier "
         "than current UTC time): run 'az login' again (laptop), or check the identity azure/login or the managed "
         "identity signs in as",
         arrange=lambda e: e.faults.fail(401, "ExpiredAuthenticationToken", "The access token expiry UTC time is "
                                         "earlier than current UTC time.", path="/computes/")),
    Case("no login", lambda ml, s: ml.workspaces.get(s.workspace), LOGIN,
         "no Azure login found: run 'az login' (laptop), log in with azure/login and OIDC before llmops (GitHub "
         "Actions), or give the compute a managed identity (Azure); --verbose shows what each credential said",
         variables=lambda e: {"IDENTITY_HEADER": "not-the-platform's"}),
    Case("connection refused", lambda ml, s: ml.workspaces.get(s.workspace), NETWORK,
         lambda s: f"cannot reach {urlsplit(s.cloud.resource_manager).netloc} (connection refused): {NETWORK_FIX}",
         variables=_unreachable_cloud),
    Case("connection reset", lambda ml, s: ml.compute.get("cpu-cluster"), NETWORK,
         lambda s: f"cannot reach {urlsplit(s.cloud.resource_manager).netloc} (the connection closed before an "
                   f"answer): {NETWORK_FIX}",
         arrange=lambda e: e.faults.reset(2, path="/computes/"), retries=1),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_an_azure_failure_is_one_line_naming_the_thing_and_the_fix(azureml_emulator, tmp_path, monkeypatch, case):
    changes = case.variables(azureml_emulator)
    environment = use_environment(monkeypatch, azureml_emulator, **changes)
    settings = azure_settings_for(tmp_path, azureml_emulator, environment, **case.keys)
    case.arrange(azureml_emulator)
    ml = ml_client(settings, retry_policy=azure_retry_policy(case.retries))
    with pytest.raises(AzureFailure) as failed, azure_errors(settings):
        case.call(ml, settings)
    expected = case.expected(settings) if callable(case.expected) else case.expected
    assert (str(failed.value), failed.value.kind) == (expected, case.kind)
    assert failed.value.__cause__ is not None  # the SDK's exception, for --verbose


def test_the_emulator_environment_is_what_a_ci_job_exports(azureml_emulator):
    assert set(llmops_environment(azureml_emulator)) == {
        "AZURE_SUBSCRIPTION_ID", "LLMOPS_AZURE_CLOUD", "LLMOPS_AZURE_CLOUD_METADATA", "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER", "AZURE_TOKEN_CREDENTIALS"}
