"""The emulator's access routes, driven by real clients: the managed identity endpoint (azure-identity), the
caller's permissions, VM sizes and quota (azure-ai-ml), Key Vault's secrets (an azure-core pipeline, as
azure-keyvault-secrets builds one), and the reset and fail faults."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from azure.core import PipelineClient
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.core.pipeline import policies
from azure.core.rest import HttpRequest, HttpResponse
from azure.identity import DefaultAzureCredential

from tests.support.azureml_emulator import AzureMLEmulator, FakeCredential
from tests.support.azureml_emulator.credential import OBJECT_ID
from tests.support.azureml_emulator.product import use_environment
from tests.support.azureml_emulator.quota import TOTAL_DEDICATED

pytest_plugins = ["tests.support.azureml_emulator.fixtures"]


@pytest.fixture
def identity(azureml_emulator: AzureMLEmulator, monkeypatch: pytest.MonkeyPatch) -> AzureMLEmulator:
    """The emulator's managed identity is the process's (App Service style), and the only credential tried."""
    use_environment(monkeypatch, azureml_emulator)
    return azureml_emulator


def _get(emulator: AzureMLEmulator, url: str, scope: str, credential: Any = None, **params: str) -> HttpResponse:
    pipeline = [policies.BearerTokenCredentialPolicy(credential or FakeCredential(), scope)] if scope else []
    with PipelineClient(url, policies=[policies.RetryPolicy(retry_total=0), *pipeline]) as client:
        return client.send_request(HttpRequest("GET", url, params=params))


# Managed identity


def test_default_azure_credential_gets_its_token_from_the_managed_identity_endpoint(identity):
    token = DefaultAzureCredential().get_token("https://ml.azure.com/.default")
    claims = jwt.decode(token.token, options={"verify_signature": False})
    assert (claims["aud"], claims["oid"]) == ("https://ml.azure.com", OBJECT_ID)
    assert identity.context.tokens_issued == ["https://ml.azure.com"]
    assert [r.path for r in identity.requests] == ["/msi/token"]


def test_a_wrong_identity_header_gets_no_token(identity, monkeypatch):
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-header")
    with pytest.raises(ClientAuthenticationError, match="X-IDENTITY-HEADER"):
        DefaultAzureCredential().get_token("https://ml.azure.com/.default")
    assert identity.context.tokens_issued == []


def test_the_managed_identity_token_works_for_the_workspace(identity):
    ml = identity.ml_client(credential=DefaultAzureCredential())
    assert ml.workspaces.get(identity.scope.workspace).name == identity.scope.workspace
    assert identity.context.tokens_issued == [identity.base_url]  # the custom cloud's ARM audience


# Permissions


def test_permissions_list_the_roles_actions_and_a_forbidden_action_among_the_not_actions(azureml_emulator):
    url = f"{azureml_emulator.base_url}{azureml_emulator.scope.workspace_id}/providers/Microsoft.Authorization/" \
          "permissions"
    scope = azureml_emulator.base_url + "/.default"
    azureml_emulator.faults.forbid("workspaces/data/versions/write")
    answer = _get(azureml_emulator, url, scope, **{"api-version": "2022-04-01"})
    assert answer.status_code == 200
    [permission] = answer.json()["value"]
    assert permission["actions"][0] == "Microsoft.MachineLearningServices/workspaces/*/read"
    assert permission["notActions"][-1] == "Microsoft.MachineLearningServices/workspaces/data/versions/write"
    assert set(permission) == {"actions", "notActions", "dataActions", "notDataActions"}
    refused = _get(azureml_emulator, url, scope, **{"api-version": "2023-04-01-preview"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "NoRegisteredProviderFound"


def test_role_assignments_live_in_one_store_that_every_scope_and_service_reads(azureml_emulator):
    """Made on a registry through ARM, listed there and at no sibling scope, and what a web app's pull checks."""
    emulator, acr_pull = azureml_emulator, "7f951dda-4ed3-4680-a7ca-43fe172d538d"
    emulator.context.roles.append("User Access Administrator")
    group = f"/subscriptions/{emulator.scope.subscription}/resourceGroups/{emulator.scope.resource_group}"
    registry = f"{group}/providers/Microsoft.ContainerRegistry/registries/{emulator.workspace_registry}"
    url = f"{emulator.base_url}{registry}/providers/Microsoft.Authorization/roleAssignments"
    body = {"properties": {"roleDefinitionId": f"/providers/Microsoft.Authorization/roleDefinitions/{acr_pull}",
                           "principalId": "p-1"}}
    token = policies.BearerTokenCredentialPolicy(FakeCredential(), emulator.base_url + "/.default")
    with PipelineClient(emulator.base_url, policies=[policies.RetryPolicy(retry_total=0), token]) as client:
        made = client.send_request(HttpRequest("PUT", f"{url}/a1", params={"api-version": "2022-04-01"}, json=body))
        again = client.send_request(HttpRequest("PUT", f"{url}/a2", params={"api-version": "2022-04-01"}, json=body))
        missing = client.send_request(HttpRequest(
            "PUT", url.replace(emulator.workspace_registry, "nosuchacr") + "/a3", params={"api-version": "2022-04-01"},
            json=body))
    assert (made.status_code, again.status_code, again.json()["error"]["code"]) == (201, 409, "RoleAssignmentExists")
    assert missing.status_code == 404
    listed = _get(emulator, url, emulator.base_url + "/.default", **{"api-version": "2022-04-01",
                                                                    "$filter": "principalId eq 'p-1'"})
    assert [a["name"] for a in listed.json()["value"]] == ["a1"]
    assert emulator.context.role_assignments.holds("p-1", registry, acr_pull)  # what a slot's image pull asks
    assert not emulator.context.role_assignments.holds("p-1", emulator.scope.workspace_id, acr_pull)
    emulator.grant("p-2", f"/providers/Microsoft.Authorization/roleDefinitions/{acr_pull}", group)  # inherited
    assert emulator.context.role_assignments.holds("p-2", registry, acr_pull)


# VM sizes and quota


def test_vm_sizes_and_quota_in_the_services_json(azureml_emulator):
    base = f"{azureml_emulator.base_url}/subscriptions/{azureml_emulator.scope.subscription}/providers/" \
           "Microsoft.MachineLearningServices/locations/westeurope"
    scope, version = azureml_emulator.base_url + "/.default", {"api-version": "2024-04-01"}
    sizes = {s["name"]: s for s in _get(azureml_emulator, base + "/vmSizes", scope, **version).json()["value"]}
    assert (sizes["Standard_DS3_v2"]["family"], sizes["Standard_DS3_v2"]["vCPUs"]) == ("standardDSv2Family", 4)
    azureml_emulator.quota.set("Standard DSv2 Family Cluster Dedicated vCPUs", limit=24, in_use=22)
    usages = {u["name"]["value"]: u for u in _get(azureml_emulator, base + "/usages", scope, **version).json()["value"]}
    family = usages["Standard DSv2 Family Cluster Dedicated vCPUs"]
    assert (family["currentValue"], family["limit"], family["type"]) == (
        22, 24, "Microsoft.MachineLearningServices/vmFamily/usages")
    assert usages["Total Cluster Dedicated Regional vCPUs"]["limit"] == 100


def test_the_sdk_reads_vm_sizes_and_usages(azureml_emulator):
    ml = azureml_emulator.ml_client()
    assert {s.name: s.family for s in ml.compute.list_sizes()}["Standard_DS3_v2"] == "standardDSv2Family"
    assert {u.name["value"]: u.limit for u in ml.compute.list_usage()}[TOTAL_DEDICATED] == 100
    assert list(ml.compute.list_usage(location="eastus")) == []


# Key Vault


def _vault(emulator: AzureMLEmulator) -> tuple[str, str]:
    metadata = emulator.cloud_metadata()
    return metadata["keyvault_url"].replace("{name}", emulator.scope.key_vault), metadata["keyvault_resource"]


def test_key_vault_lists_secrets_by_page_and_gives_a_value_to_a_token_for_its_audience(azureml_emulator):
    for name in ("aoai-key", "openai-key", "third"):
        azureml_emulator.key_vault.set_secret(name, f"value of {name}")
    url, resource = _vault(azureml_emulator)
    page = {"api-version": "7.4", "maxresults": "2"}
    first = _get(azureml_emulator, url + "/secrets", resource + "/.default", **page)
    assert [s["id"].rsplit("/", 1)[1] for s in first.json()["value"]] == ["aoai-key", "openai-key"]
    assert "value" not in first.json()["value"][0]
    rest = _get(azureml_emulator, first.json()["nextLink"], resource + "/.default")
    assert ([s["id"].rsplit("/", 1)[1] for s in rest.json()["value"]], rest.json()["nextLink"]) == (["third"], None)
    secret = _get(azureml_emulator, url + "/secrets/aoai-key", resource + "/.default", **{"api-version": "7.4"})
    assert secret.json()["value"] == "value of aoai-key"


@pytest.mark.parametrize(
    ("scope", "status", "message"),
    [
        ("", 401, "AKV10000: Request is missing a Bearer or PoP token."),
        ("https://management.azure.com/.default", 401, "AKV10022: Invalid audience. Expected https://vault.azure.net"),
    ],
)
def test_key_vault_refuses_a_request_without_a_token_for_it_with_a_challenge(azureml_emulator, scope, status, message):
    url, _ = _vault(azureml_emulator)
    answer = _get(azureml_emulator, url + "/secrets", scope, **{"api-version": "7.4"})
    assert answer.status_code == status and answer.json()["error"]["message"].startswith(message)
    assert answer.headers["WWW-Authenticate"].endswith('resource="https://vault.azure.net"')


def test_a_forbidden_secret_action_gets_key_vaults_rbac_403(azureml_emulator):
    azureml_emulator.faults.forbid("secrets/readMetadata")
    url, resource = _vault(azureml_emulator)
    answer = _get(azureml_emulator, url + "/secrets", resource + "/.default", **{"api-version": "7.4"})
    error = answer.json()["error"]
    assert (answer.status_code, error["code"], error["innererror"]["code"]) == (403, "Forbidden", "ForbiddenByRbac")
    assert "Action: 'Microsoft.KeyVault/vaults/secrets/readMetadata/action'" in error["message"]
    assert f"Resource: '/subscriptions/{azureml_emulator.scope.subscription}/resourcegroups/llmops-rg/providers/" \
           "microsoft.keyvault/vaults/llmops-kv'" in error["message"]


# Faults


def test_a_reset_connection_is_retried_by_the_sdk(azureml_emulator):
    azureml_emulator.faults.reset(1, path="/datastores")
    assert azureml_emulator.ml_client().datastores.get_default().name == "workspaceblobstore"
    assert [r.status for r in azureml_emulator.requests if "/datastores" in r.path] == [0, 200]


def test_a_failure_in_the_services_shape(azureml_emulator):
    azureml_emulator.faults.fail(401, "ExpiredAuthenticationToken", "The access token has expired.", path="/computes")
    with pytest.raises(HttpResponseError) as refused:
        azureml_emulator.ml_client().compute.get("cpu-cluster")
    assert (refused.value.status_code, refused.value.error.code) == (401, "ExpiredAuthenticationToken")
