"""An azureml env's settings: where each comes from and what a missing or malformed one says; role matching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops.backends.azureml.cloud import KNOWN_CLOUDS
from llmops.backends.azureml.errors import assignment_scope
from llmops.backends.azureml.roles import REQUIRED_ACTIONS, allowed, missing_actions, role_for
from llmops.backends.azureml.settings import (
    AzureVariables,
    azure_settings,
    azure_variables,
    runtime_name_notice,
)
from llmops.config.use_case import load_use_case
from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError
from tests.support.mini_use_case import edit_json, write_use_case

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
KEY = "use_cases/mini/llmops_config.json: envs[2]"
METADATA = {key: "https://127.0.0.1:1/" for key in ("azure_portal", "resource_manager", "active_directory",
                                                    "aml_resource_id", "registry_discovery_endpoint")}
METADATA["storage_endpoint"] = "core.localhost:1"


def _settings(tmp_path: Path, variables: dict[str, str], **keys: str):
    folder = write_use_case(tmp_path)
    env = {"ENV_NAME": "azure", "BACKEND": "azureml", "STANDARD_FLOW_PATH": "flows/standard",
           "RESOURCE_GROUP_NAME": "rg", "WORKSPACE_NAME": "ws", **keys}
    edit_json(folder / "llmops_config.json", lambda config: config["envs"].append(env))
    return azure_settings(load_use_case(Workspace.find(tmp_path), "mini"), "azure", AzureVariables(variables))


@pytest.mark.parametrize(
    ("variables", "keys", "problems"),
    [
        ({}, {}, ["AZURE_SUBSCRIPTION_ID is not set: put it in .env or the environment "
                  "(az account show --query id -o tsv)"]),
        ({"AZURE_SUBSCRIPTION_ID": "my-sub"}, {}, [
            "AZURE_SUBSCRIPTION_ID is 'my-sub' (from the environment): not a subscription id, which is a GUID such "
            "as 00000000-0000-0000-0000-000000000000 (az account show --query id -o tsv)"]),
        ({"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION}, {"WORKSPACE_NAME": " ", "RESOURCE_GROUP_NAME": ""}, [
            f"{KEY}.RESOURCE_GROUP_NAME: empty; set it to the resource group of your Azure ML workspace",
            f"{KEY}.WORKSPACE_NAME: empty; set it to your Azure ML workspace's name"]),
        ({"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION}, {"COMPUTE_NAME": "cpu", "INSTANCE_TYPE": "Standard_DS2_v2"}, [
            f"{KEY}.INSTANCE_TYPE: 'Standard_DS2_v2' is for serverless compute, but COMPUTE_NAME names cluster "
            "'cpu'; keep one of the two"]),
        ({"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION, "LLMOPS_AZURE_CLOUD": "AzureGermanCloud"}, {}, [
            "LLMOPS_AZURE_CLOUD is 'AzureGermanCloud': not a cloud azure-ai-ml knows; valid: AzureChinaCloud, "
            "AzureCloud, AzureUSGovernment, or a name of your own with its endpoints in LLMOPS_AZURE_CLOUD_METADATA "
            "(a JSON object)"]),
        ({"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION, "LLMOPS_AZURE_CLOUD_METADATA": json.dumps(METADATA)}, {}, [
            "LLMOPS_AZURE_CLOUD_METADATA is set but LLMOPS_AZURE_CLOUD is not set: give the custom cloud a name of "
            "its own (not AzureChinaCloud, AzureCloud, AzureUSGovernment)"]),
        ({"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION, "LLMOPS_AZURE_CLOUD": "Stack",
          "LLMOPS_AZURE_CLOUD_METADATA": "{resource_manager: x}"}, {}, [
            'LLMOPS_AZURE_CLOUD_METADATA: not a JSON object of endpoint strings; give it as {"resource_manager": '
            '"https://...", "active_directory": "https://...", ...} with the keys azure_portal, resource_manager, '
            "active_directory, aml_resource_id, storage_endpoint, registry_discovery_endpoint"]),
        ({"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION, "LLMOPS_AZURE_CLOUD": "Stack",
          "LLMOPS_AZURE_CLOUD_METADATA": json.dumps({"resource_manager": "https://arm.example"})}, {}, [
            "LLMOPS_AZURE_CLOUD_METADATA: azure_portal, active_directory, aml_resource_id, storage_endpoint, "
            "registry_discovery_endpoint missing; azure-ai-ml needs every one of azure_portal, resource_manager, "
            "active_directory, aml_resource_id, storage_endpoint, registry_discovery_endpoint to reach cloud 'Stack'"]),
    ],
    ids=["no subscription", "not a guid", "empty names", "cluster and size", "unknown cloud", "unnamed metadata",
         "metadata not json", "metadata incomplete"],
)
def test_each_missing_or_malformed_setting_is_named_with_its_fix(tmp_path, variables, keys, problems):
    with pytest.raises(LlmopsError) as refused:
        _settings(tmp_path, variables, **keys)
    assert str(refused.value).splitlines() == problems


def test_settings_of_a_sovereign_and_of_a_custom_cloud(tmp_path):
    china = _settings(tmp_path / "a", {"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION, "LLMOPS_AZURE_CLOUD": "AzureChinaCloud"},
                      KEYVAULT_NAME="kv")
    assert (china.cloud, china.instance_type, china.compute) == (KNOWN_CLOUDS["AzureChinaCloud"], "Standard_DS3_v2", "")
    assert (china.cloud.vault_url("kv"), china.cloud.arm_scope) == (
        "https://kv.vault.azure.cn", "https://management.chinacloudapi.cn/.default")
    custom = _settings(tmp_path / "b", {"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION, "LLMOPS_AZURE_CLOUD": "Stack",
                                        "LLMOPS_AZURE_CLOUD_METADATA": json.dumps(METADATA)})
    assert (custom.cloud.name, custom.cloud.metadata, custom.cloud.keyvault_url) == ("Stack", METADATA, "")


def test_the_subscription_comes_from_the_environment_before_the_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text('AZURE_SUBSCRIPTION_ID="11111111-1111-1111-1111-111111111111"\n'
                        "LLMOPS_AZURE_CLOUD=AzureUSGovernment\n")
    both = azure_variables({"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION}, env_file)
    assert (both.get("AZURE_SUBSCRIPTION_ID"), both.source("AZURE_SUBSCRIPTION_ID")) == (
        SUBSCRIPTION, "the environment")
    assert (both.get("LLMOPS_AZURE_CLOUD"), both.source("LLMOPS_AZURE_CLOUD")) == ("AzureUSGovernment", ".env")
    file_only = azure_variables({"AZURE_SUBSCRIPTION_ID": " "}, env_file)
    assert file_only.get("AZURE_SUBSCRIPTION_ID") == "11111111-1111-1111-1111-111111111111"
    assert azure_variables({}, tmp_path / "missing.env").values == {}


def test_runtime_name_is_reported_once_as_ignored_on_an_azureml_env_only(tmp_path):
    settings = _settings(tmp_path / "a", {"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION}, RUNTIME_NAME="my-runtime")
    assert runtime_name_notice(settings) == (
        f"{KEY}.RUNTIME_NAME: 'my-runtime' is ignored: prompt flow runtimes retire with prompt flow on 2027-04-20; "
        "llmops runs its own engine in Azure ML jobs: remove RUNTIME_NAME and set COMPUTE_NAME or INSTANCE_TYPE")
    local = _settings(tmp_path / "b", {"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION}, RUNTIME_NAME="rt", BACKEND="local")
    assert runtime_name_notice(local) is None


DATA_SCIENTIST = {
    "actions": ["Microsoft.MachineLearningServices/workspaces/*/read",
                "Microsoft.MachineLearningServices/workspaces/*/write",
                "Microsoft.MachineLearningServices/workspaces/*/action"],
    "notActions": ["Microsoft.MachineLearningServices/workspaces/write",
                   "Microsoft.MachineLearningServices/workspaces/computes/*/write"],
}


@pytest.mark.parametrize(
    ("action", "permissions", "expected"),
    [
        ("Microsoft.MachineLearningServices/workspaces/read", [DATA_SCIENTIST], True),  # /*/ spans one slash too
        ("Microsoft.MachineLearningServices/workspaces/data/versions/write", [DATA_SCIENTIST], True),
        ("microsoft.machinelearningservices/WORKSPACES/jobs/read", [DATA_SCIENTIST], True),  # case-insensitive
        ("Microsoft.MachineLearningServices/workspaces/write", [DATA_SCIENTIST], False),
        ("Microsoft.MachineLearningServices/workspaces/computes/write", [DATA_SCIENTIST], False),
        ("Microsoft.MachineLearningServices/workspaces/jobs/write", [{"actions": ["*/read"]}], False),
        ("Microsoft.MachineLearningServices/workspaces/jobs/write",
         [{"actions": ["*/read"]}, {"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Write"]}], True),
    ],
)
def test_an_action_is_allowed_by_a_permission_set_that_lists_it_and_does_not_exclude_it(action, permissions, expected):
    assert allowed(action, permissions) is expected


def test_the_role_named_for_each_missing_action():
    assert missing_actions([DATA_SCIENTIST]) == []
    assert missing_actions([{"actions": ["*/read"]}]) == [a for a in REQUIRED_ACTIONS if not a.endswith("/read")]
    assert {role_for(a) for a in REQUIRED_ACTIONS} == {"AzureML Data Scientist"}
    assert role_for("Microsoft.MachineLearningServices/workspaces/computes/write") == "AzureML Compute Operator"
    assert role_for("Microsoft.KeyVault/vaults/secrets/getSecret/action") == "Key Vault Secrets User"
    assert role_for("Microsoft.MachineLearningServices/locations/usages/read") == "Reader"


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/data/d/versions/1",
         ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws",
          "workspace 'ws'")),
        ("/subscriptions/s/resourcegroups/rg/providers/microsoft.keyvault/vaults/kv",
         ("/subscriptions/s/resourcegroups/rg/providers/microsoft.keyvault/vaults/kv", "key vault 'kv'")),
        ("/subscriptions/s/resourceGroups/rg", ("/subscriptions/s/resourceGroups/rg", "resource group 'rg'")),
        ("/subscriptions/s/providers/Microsoft.MachineLearningServices/locations/westeurope",
         ("/subscriptions/s", "subscription s")),
    ],
)
def test_a_role_is_assigned_on_the_resource_the_denied_scope_lies_in(scope, expected):
    assert assignment_scope(scope) == expected
