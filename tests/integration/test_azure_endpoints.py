"""Deploying to Azure ML online endpoints (managed and Kubernetes) as a user does, against the emulator.

Each deployment in the emulator is a real llmops endpoint server on loopback, started from its image's build
context (`llmops image build`, pushed to the workspace's registry), behind the endpoint's scoring URL, which
checks the key, routes by the traffic map and mirrors: so the smoke tests, the measured split and the faults
are real. One scenario per kind runs the commands in order (the first release, a second one split
90/10, 1,000 requests, a failed provisioning, a failing smoke test, a quota error, a mirror, a rollback) and
the tests check what each did.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from llmops.backends.azureml.online.identity import ROLE_IDS
from tests.support.azureml_emulator import AzureMLEmulator
from tests.support.azureml_emulator.product import ENV, llmops_environment, write_azure_use_case
from tests.support.azureml_emulator.quota import SIZES
from tests.support.cli import Done, llmops
from tests.support.mini_use_case import CLASSIFY_PY, edit_json

pytest_plugins = ["tests.support.azureml_emulator.fixtures"]
pytestmark = pytest.mark.timeout(600)

ENDPOINT = "mini-azure-ep"
KINDS = ("azure_managed", "kubernetes")  # --target names: the config keys without "_endpoint"
CLUSTER = "aks-attached"
DSV2 = SIZES[1].usage_name
V2_PY = CLASSIFY_PY.replace('"App" if', '"Application" if')
BROKEN_PY = CLASSIFY_PY.replace("    word =", "    raise ValueError('v3 is broken')\n    word =")
REQUESTS = 1000
DESCRIBED = {"azure_managed": "managed online endpoint", "kubernetes": "Kubernetes online endpoint"}


def block(kind: str, **keys: Any) -> dict[str, Any]:
    common = {"ENV_NAME": ENV, "ENDPOINT_NAME": ENDPOINT, "CURRENT_DEPLOYMENT_NAME": "blue",
              "DEPLOYMENT_INSTANCE_COUNT": 1, "ENVIRONMENT_VARIABLES": {"FLOW_MODE": "prod"},
              "TEST_FILE_PATH": "sample-request.json"}
    if kind == "kubernetes":
        common.update(COMPUTE_NAME=CLUSTER, CPU_ALLOCATION="0.5", MEMORY_ALLOCATION="1Gi")
    else:
        common.update(DEPLOYMENT_VM_SIZE="Standard_DS3_v2")
    return {**common, **keys}


def configure(repo: Path, kind: str, **keys: Any) -> None:
    edit_json(repo / "use_cases/mini/configs/deployment_config.json",
              lambda c: c.update({f"{kind}_endpoint": [block(kind, **keys)]}))


def release_flow(repo: Path, emulator: AzureMLEmulator, source: str) -> Done:
    """A new model version: the flow's code changed, registered, and its serving image built and pushed to the
    workspace's registry (no Docker engine here: the emulator's registry keeps the build context)."""
    (repo / "use_cases/mini/flows/standard/classify.py").write_text(source, encoding="utf-8")
    done = llmops(repo, "register-model", "-u", "mini", "-e", ENV)
    assert done.code == 0, done
    built = llmops(repo, "image", "build", "-u", "mini", "-e", ENV, "--registry", emulator.workspace_registry, "--json")
    assert built.code == 0, built
    image = json.loads(built.out)
    emulator.web_apps.push_image(image["image"], Path(image["context_dir"]))
    return done


def split_of(emulator: AzureMLEmulator) -> tuple[dict[str, int], dict[str, int]]:
    endpoint = emulator.ml_client().online_endpoints.get(ENDPOINT)
    return ({k: v for k, v in endpoint.traffic.items() if v}, {k: v for k, v in endpoint.mirror_traffic.items() if v})


def measure(scoring_uri: str, key: str, count: int) -> Counter[str]:
    """`count` requests through the scoring URL on one kept-alive connection; which deployment answered each."""
    served: Counter[str] = Counter()
    with requests.Session() as session:
        session.headers.update({"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        for i in range(count):
            reply = session.post(scoring_uri, data=json.dumps({"url": f"https://apps.example.com/{i}"}), timeout=60)
            assert reply.status_code == 200, reply.text
            served[reply.headers["azureml-model-deployment"]] += 1
    return served


@dataclass
class Scenario:
    kind: str
    repo: Path
    emulator: AzureMLEmulator
    steps: dict[str, Done] = field(default_factory=dict)
    splits: dict[str, tuple[dict[str, int], dict[str, int]]] = field(default_factory=dict)
    served: Counter[str] = field(default_factory=Counter)
    answers: dict[str, Any] = field(default_factory=dict)
    mirrored: int = 0
    running: list[str] = field(default_factory=list)


def run(emulator: AzureMLEmulator, scenario: Scenario, name: str, *args: str) -> Done:
    scenario.steps[name] = done = llmops(scenario.repo, *args)
    scenario.splits[name] = split_of(emulator)
    return done


def deploy(scenario: Scenario, name: str) -> Done:
    return run(scenario.emulator, scenario, name, "deploy", "-u", "mini", "-e", ENV, "--target", scenario.kind)


@pytest.fixture(scope="module", params=KINDS)
def scenario(request: pytest.FixtureRequest, azureml_emulator_session: AzureMLEmulator,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    kind, emulator = request.param, azureml_emulator_session
    emulator.reset()
    emulator.context.roles.append("User Access Administrator")  # this login may grant the endpoint its roles
    emulator.attach_kubernetes(CLUSTER)
    repo = tmp_path_factory.mktemp(kind)
    write_azure_use_case(repo, emulator)
    configure(repo, kind)
    s = Scenario(kind, repo, emulator)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in llmops_environment(emulator).items():
            patch.setenv(name, value)
        release_flow(repo, emulator, CLASSIFY_PY)
        deploy(s, "first")
        release_flow(repo, emulator, V2_PY)
        configure(repo, kind, CURRENT_DEPLOYMENT_NAME="green", CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION="10",
                  PRIOR_DEPLOYMENT_NAME="blue", PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION="90")
        deploy(s, "second")
        client = emulator.ml_client()
        uri, key = client.online_endpoints.get(ENDPOINT).scoring_uri, client.online_endpoints.get_keys(ENDPOINT)
        s.served = measure(uri, key.primary_key, REQUESTS)
        s.answers = {
            "no key": requests.post(uri, json={"url": "x"}, timeout=30).status_code,
            "green forced": requests.post(uri, json={"url": "https://apps.example.com/f"}, timeout=30, headers={
                "Authorization": f"Bearer {key.secondary_key}", "azureml-model-deployment": "green"}).json(),
        }
        # A third release into a new deployment, red, beside green: it fails to provision, is refused for want of
        # quota (managed), then fails its smoke test; traffic never moves.
        configure(repo, kind, CURRENT_DEPLOYMENT_NAME="red", CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION="50",
                  PRIOR_DEPLOYMENT_NAME="green", PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION="50")
        emulator.faults.fail_provisioning("red")
        deploy(s, "provisioning fails")
        if kind == "azure_managed":
            emulator.quota.set(DSV2, limit=8, in_use=4)  # blue and green hold 8 more: nothing left for red
            deploy(s, "no quota")
            emulator.quota.set(DSV2, limit=24, in_use=0)
        release_flow(repo, emulator, BROKEN_PY)
        deploy(s, "smoke test fails")
        s.running = emulator.serving.running(ENDPOINT)
        run(emulator, s, "mirror", "endpoint", "traffic", "-u", "mini", "-e", ENV, "--target", kind,
            "--set", "blue=100,green=0", "--mirror", "green=20")
        if kind == "kubernetes":  # refused: no mirror on Kubernetes; the same shift without one
            run(emulator, s, "shift", "endpoint", "traffic", "-u", "mini", "-e", ENV, "--target", kind,
                "--set", "blue=100,green=0")
        measure(uri, key.primary_key, 200)
        s.mirrored = emulator.serving.mirrored["green"]
        run(emulator, s, "rollback", "endpoint", "rollback", "-u", "mini", "-e", ENV, "--target", kind)
        run(emulator, s, "history", "endpoint", "traffic", "-u", "mini", "-e", ENV, "--target", kind)
        run(emulator, s, "status", "endpoint", "status", "-u", "mini", "-e", ENV, "--target", kind, "--json")
        yield s
    emulator.reset()


def test_the_first_release_takes_all_traffic(scenario):
    first = scenario.steps["first"]
    assert first.code == 0, first.err
    assert first.out.splitlines()[0] == (
        f"deployment blue on endpoint {ENDPOINT} ({scenario.kind}): model mini_azure version 1, variant defaults "
        "(defaults: no report yet)")
    assert first.out.splitlines()[1].startswith("smoke test sample-request.json: status 200 on blue in ")
    assert first.out.splitlines()[-1] == "traffic: blue=100"
    assert scenario.splits["first"] == ({"blue": 100}, {})


def test_the_endpoint_identity_got_only_the_roles_its_server_needs(scenario):
    first = scenario.steps["first"].out
    principal = scenario.emulator.ml_client().online_endpoints.get(ENDPOINT).identity.principal_id
    assert f"note: granted 'AcrPull' on container registry 'llmopsws' to endpoint '{ENDPOINT}' (identity " \
           f"{principal})" in first
    assert "note: granted 'Key Vault Secrets User' on key vault 'llmops-kv' to endpoint" in first
    assert ("note: granted 'Storage Blob Data Contributor' on blob container 'llmops-production-logs' to endpoint"
            in first)
    made = {(a["scope"].rsplit("/providers/", 1)[1], a["roleDefinitionId"].rsplit("/", 1)[1])
            for a in scenario.emulator.context.role_assignments if a["principalId"] == principal}
    assert made == {("Microsoft.ContainerRegistry/registries/llmopsws", ROLE_IDS["AcrPull"]),
                    ("Microsoft.KeyVault/vaults/llmops-kv", ROLE_IDS["Key Vault Secrets User"]),
                    ("Microsoft.Storage/storageAccounts/devstoreaccount1/blobServices/default/containers/"
                     "llmops-production-logs", ROLE_IDS["Storage Blob Data Contributor"])}
    assert "AzureML Data Scientist" not in first  # nothing on the workspace: the server makes no Azure ML call


def test_a_second_release_is_smoke_tested_at_zero_then_split_as_configured(scenario):
    second = scenario.steps["second"]
    assert second.code == 0, second.err
    lines = second.out.splitlines()
    assert lines[0].startswith(f"deployment green on endpoint {ENDPOINT} ({scenario.kind}): model mini_azure version 2")
    assert lines[1].startswith("smoke test sample-request.json: status 200 on green in ")
    assert lines[-1] == "traffic: blue=90,green=10"
    assert scenario.splits["second"] == ({"blue": 90, "green": 10}, {})


def test_a_thousand_requests_split_within_three_points(scenario):
    share = {name: 100 * count / REQUESTS for name, count in scenario.served.items()}
    print(f"{scenario.kind}: {REQUESTS} requests: {dict(scenario.served)} ({share})")
    assert set(share) == {"blue", "green"}
    assert abs(share["blue"] - 90) <= 3 and abs(share["green"] - 10) <= 3


def test_the_scoring_url_wants_the_key_and_honours_the_deployment_header(scenario):
    assert scenario.answers["no key"] == 401
    assert scenario.answers["green forced"] == {"category": "Application"}  # version 2's answer


def test_a_deployment_that_fails_to_provision_moves_no_traffic(scenario):
    failed = scenario.steps["provisioning fails"]
    assert failed.code == 1
    assert failed.err.splitlines()[-1] == (
        f"error: deployment 'red' of {DESCRIBED[scenario.kind]} '{ENDPOINT}' was not provisioned: ResourceNotReady: "
        "User container has crashed or terminated: Liveness probe failed (injected by the test); traffic is "
        f"unchanged (blue=90,green=10); its logs: az ml online-deployment get-logs -n red -e {ENDPOINT} -g llmops-rg "
        "-w llmops-ws")
    assert scenario.splits["provisioning fails"] == ({"blue": 90, "green": 10}, {})


def test_a_failing_smoke_test_leaves_traffic_exactly_as_it_was(scenario):
    failed = scenario.steps["smoke test fails"]
    assert failed.code != 0
    assert failed.err.splitlines()[-1].startswith(
        "error: smoke test of deployment 'red' (model mini_azure version 3) failed: sample-request.json: status 500 "
        "on red in ")
    assert failed.err.rstrip().endswith("; it stays at 0% for its logs (the next deploy updates it) and traffic is "
                                        "unchanged (blue=90,green=10)")
    assert scenario.splits["smoke test fails"] == ({"blue": 90, "green": 10}, {})
    assert "red" in scenario.running  # at 0%, its server still up for its logs


def test_a_quota_error_is_one_line_naming_the_keys_to_change(scenario):
    if scenario.kind != "azure_managed":
        pytest.skip("a Kubernetes deployment draws on its cluster, not on Azure ML's vCPU quota")
    failed = scenario.steps["no quota"]
    assert failed.code == 1
    assert failed.err.splitlines()[-1] == (
        f"error: deployment 'red' of managed online endpoint '{ENDPOINT}' was not provisioned: Azure ML quota "
        "exceeded (OutOfQuota): Not enough quota available for Standard_DS3_v2 in SubscriptionId "
        "00000000-0000-0000-0000-000000000000. Current usage/limit: 12/8. Additional needed: 4. Please see "
        "troubleshooting guide, available here: https://aka.ms/oe-tsg#error-outofquota; lower "
        "DEPLOYMENT_INSTANCE_COUNT (1) or DEPLOYMENT_VM_SIZE (Standard_DS3_v2) in use_cases/mini/configs/"
        "deployment_config.json: azure_managed_endpoint for env 'azure', or request more quota (Azure portal, "
        "Quotas, Machine learning); traffic is unchanged (blue=90,green=10)")
    assert scenario.splits["no quota"] == ({"blue": 90, "green": 10}, {})


def test_mirror_traffic_copies_its_share(scenario):
    if scenario.kind == "kubernetes":
        assert (scenario.steps["mirror"].code, scenario.steps["mirror"].err) == (1, (
            f"error: endpoint '{ENDPOINT}': mirror traffic is not available on a Kubernetes online endpoint "
            "(azure-ai-ml does not read it back); leave MIRROR_TRAFFIC_ALLOCATION empty, or use "
            "azure_managed_endpoint\n"))
        assert scenario.splits["mirror"] == ({"blue": 90, "green": 10}, {})
        assert scenario.mirrored == 0
        return
    assert scenario.steps["mirror"].out.splitlines() == ["traffic: blue=100,green=0; mirror green=20"]
    assert scenario.splits["mirror"] == ({"blue": 100}, {"green": 20})
    assert 20 <= scenario.mirrored <= 60  # 20% of 200, drawn


def test_rollback_restores_the_previous_map_from_the_endpoints_tags(scenario):
    shifted = "blue=100,green=0" + ("; mirror green=20" if scenario.kind == "azure_managed" else "")
    assert scenario.steps["rollback"].out.splitlines()[0] == f"rolled back: {shifted} -> blue=90,green=10"
    assert scenario.splits["rollback"] == ({"blue": 90, "green": 10}, {})
    history = [line.split("  ")[0] for line in scenario.steps["history"].out.splitlines()]
    assert history == ["1: blue=100", "2: blue=90,green=10", f"3: {shifted}"]
    assert scenario.steps["history"].out.splitlines()[2].endswith("(rolled back)")


def test_status_reads_the_deployments_back_from_azure(scenario):
    status = json.loads(scenario.steps["status"].out)
    assert (status["target"], status["endpoint"], status["traffic"]) == (
        scenario.kind, ENDPOINT, {"blue": 90, "green": 10})
    assert [(d["name"], d["model_version"], d["traffic"]) for d in status["deployments"]] == [
        ("blue", 1, 90), ("green", 2, 10), ("red", 3, 0)]


def test_a_login_that_may_not_grant_roles_gets_the_exact_commands_then_deploys_once_they_ran(azureml_emulator,
                                                                                             tmp_path, monkeypatch):
    emulator = azureml_emulator  # its identity holds AzureML Data Scientist only: no role assignments
    write_azure_use_case(tmp_path, emulator)
    configure(tmp_path, "azure_managed")
    for name, value in llmops_environment(emulator).items():
        monkeypatch.setenv(name, value)
    release_flow(tmp_path, emulator, CLASSIFY_PY)
    refused = llmops(tmp_path, "deploy", "-u", "mini", "-e", ENV)  # the env's one Azure block: no --target needed
    principal = emulator.ml_client().online_endpoints.get(ENDPOINT).identity.principal_id
    registry = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/llmops-rg/providers/"
                "Microsoft.ContainerRegistry/registries/llmopsws")
    vault = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/llmops-rg/providers/" \
            "Microsoft.KeyVault/vaults/llmops-kv"
    logs = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/llmops-rg/providers/" \
           "Microsoft.Storage/storageAccounts/devstoreaccount1/blobServices/default/containers/llmops-production-logs"
    command = "az role assignment create --assignee-object-id {} --assignee-principal-type ServicePrincipal --role " \
              "\"{}\" --scope {}"
    assert refused.code == 1
    assert refused.err == (
        f"error: endpoint '{ENDPOINT}' needs its identity (object id "
        f"{principal}) to hold 'AcrPull' on container registry 'llmopsws', 'Key Vault Secrets User' on key vault "
        "'llmops-kv', 'Storage Blob Data Contributor' on blob container 'llmops-production-logs', and this login may "
        "not assign roles (that takes Owner or User Access Administrator); ask an owner to run once: "
        f"{command.format(principal, 'AcrPull', registry)} && "
        f"{command.format(principal, 'Key Vault Secrets User', vault)} && "
        f"{command.format(principal, 'Storage Blob Data Contributor', logs)}; then deploy again (no deployment was "
        "made)\n")
    assert list(emulator.ml_client().online_deployments.list(endpoint_name=ENDPOINT)) == []

    definitions = "/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/"
    for role, scope in (("AcrPull", registry), ("Key Vault Secrets User", vault),
                        ("Storage Blob Data Contributor", logs)):  # the owner ran it
        emulator.grant(principal, definitions + ROLE_IDS[role], scope)
    done = llmops(tmp_path, "deploy", "-u", "mini", "-e", ENV)
    assert (done.code, done.out.splitlines()[-1]) == (0, "traffic: blue=100")
    assert "granted" not in done.out


def test_an_image_never_pushed_fails_the_deploy_in_one_line_naming_it_and_the_fix(azureml_emulator, tmp_path,
                                                                                  monkeypatch):
    emulator = azureml_emulator
    emulator.context.roles.append("User Access Administrator")
    write_azure_use_case(tmp_path, emulator)
    configure(tmp_path, "azure_managed")
    for name, value in llmops_environment(emulator).items():
        monkeypatch.setenv(name, value)
    release_flow(tmp_path, emulator, CLASSIFY_PY)
    assert llmops(tmp_path, "deploy", "-u", "mini", "-e", ENV).code == 0  # version 1 serves all traffic
    (tmp_path / "use_cases/mini/flows/standard/classify.py").write_text(V2_PY, encoding="utf-8")
    assert llmops(tmp_path, "register-model", "-u", "mini", "-e", ENV).code == 0  # version 2: built, never pushed
    built = json.loads(llmops(tmp_path, "image", "build", "-u", "mini", "-e", ENV, "--json").out)
    configure(tmp_path, "azure_managed", CURRENT_DEPLOYMENT_NAME="green", PRIOR_DEPLOYMENT_NAME="blue",
              CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION="10", PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION="90")
    failed = llmops(tmp_path, "deploy", "-u", "mini", "-e", ENV)
    assert failed.code == 1
    assert failed.err.splitlines()[-1:] == [
        f"error: deployment 'green' of managed online endpoint '{ENDPOINT}' was not provisioned: its image "
        f"{built['image']} is not in the workspace's container registry (BadArgument); build and push it: llmops "
        f"image build --use-case mini --env {ENV} --model-version 2 --push, then deploy again; traffic is unchanged "
        "(blue=100)"]
    assert split_of(emulator) == ({"blue": 100}, {})
    assert emulator.serving.running(ENDPOINT) == ["blue"]


def test_image_build_names_the_workspace_registry_for_an_azure_ml_target_and_the_flag_wins(azureml_emulator, tmp_path,
                                                                                          monkeypatch):
    write_azure_use_case(tmp_path, azureml_emulator)
    configure(tmp_path, "kubernetes")
    for name, value in llmops_environment(azureml_emulator).items():
        monkeypatch.setenv(name, value)
    assert llmops(tmp_path, "register-model", "-u", "mini", "-e", ENV).code == 0

    def built(*extra: str) -> dict[str, Any]:
        done = llmops(tmp_path, "image", "build", "-u", "mini", "-e", ENV, "--json", *extra)
        assert done.code == 0, done.err
        return json.loads(done.out)

    default = built()  # the env's one Azure block (kubernetes): its workspace's registry, as the deployment pulls
    assert (default["registry"], default["image"].split("/")[0]) == ("llmopsws.azurecr.io", "llmopsws.azurecr.io")
    assert "--resource-group llmops-rg" in default["commands"]["acr_build"]  # the registry's group, from its id
    assert built("--registry", "otheracr")["registry"] == "otheracr.azurecr.io"
    assert built("--target", "local")["registry"] == ""  # no Azure ML target, no webapp block: this machine's name
