"""`llmops deploy --target local` on an azureml env: refused in one line, before anything is deployed.

The local endpoint's server loads model versions from this machine's registry, and an azureml env registers them
in its workspace; the refusal names the blocks to configure instead. It comes before any Azure call, so no
workspace (nor the emulator) is needed to show it.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import llmops
from tests.support.mini_use_case import edit_json, write_use_case

AZURE_ENV = {"ENV_NAME": "azure", "BACKEND": "azureml", "STANDARD_FLOW_PATH": "flows/standard",
             "EVALUATION_FLOW_PATH": "flows/eval", "RESOURCE_GROUP_NAME": "llmops-rg", "WORKSPACE_NAME": "llmops-ws",
             "KEYVAULT_NAME": "llmops-kv"}
VARIABLES = {"AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000000",
             "AZURE_TOKEN_CREDENTIALS": "AzureCliCredential"}


def test_deploy_to_the_local_endpoint_refuses_an_azureml_env_naming_what_to_configure(tmp_path: Path) -> None:
    folder = write_use_case(tmp_path)
    edit_json(folder / "llmops_config.json", lambda config: config["envs"].append(AZURE_ENV))
    edit_json(folder / "configs/deployment_config.json", lambda config: config["local_endpoint"].append(
        {**config["local_endpoint"][0], "ENV_NAME": "azure"}))

    done = llmops(tmp_path, "deploy", "-u", "mini", "-e", "azure", env=VARIABLES)

    assert done.code == 1
    assert done.err == (
        "error: env 'azure' registers its model versions in its Azure ML workspace (BACKEND azureml), and the local "
        "endpoint serves only versions of this machine's registry; deploy to an Azure target instead: give env "
        "'azure' an azure_managed_endpoint, kubernetes_endpoint or webapp_endpoint block in "
        "use_cases/mini/configs/deployment_config.json and no local_endpoint entry, or pass --target azure_managed, "
        "kubernetes or webapp (nothing was deployed)\n")
    assert done.out == ""
    status = llmops(tmp_path, "endpoint", "status", "-u", "mini", "-e", "azure", "--target", "local", env=VARIABLES)
    assert "no deployments yet" in status.out + status.err, status
