"""`llmops azure check` against the emulator, with the environment a CI job exports (subscription, cloud, the
platform's managed identity) and a repository with an azureml env: the exact lines, stderr and exit code of each
case. The cases run in this process (the check's Azure calls are what differ; a child process would add seconds
of imports to each); one runs as a user runs it, in a child process with exactly that environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.azureml_emulator import AzureMLEmulator
from tests.support.azureml_emulator.credential import CLIENT_ID, OBJECT_ID, TENANT_ID
from tests.support.azureml_emulator.product import (
    ENV,
    clean_environment,
    llmops_environment,
    use_environment,
    write_azure_use_case,
)
from tests.support.azureml_emulator.quota import SIZES
from tests.support.azureml_emulator.routes.workspace import WORKSPACE_GUID
from tests.support.cli import Done, llmops

pytest_plugins = ["tests.support.azureml_emulator.fixtures"]
pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parents[2]
SUB = "00000000-0000-0000-0000-000000000000"
WS_ID = f"/subscriptions/{SUB}/resourceGroups/llmops-rg/providers/Microsoft.MachineLearningServices/workspaces/" \
        "llmops-ws"
KEY = "use_cases/mini/llmops_config.json: envs[2]"
DSV2 = SIZES[1].usage_name  # Standard_DS3_v2's family quota

CREDENTIAL = f"credential: ok (ManagedIdentityCredential: application {CLIENT_ID}, object id {OBJECT_ID}, tenant " \
             f"{TENANT_ID})"
WORKSPACE = "workspace: ok ('llmops-ws' in resource group 'llmops-rg', westeurope)"
DATASTORE = f"datastore: ok ('workspaceblobstore', the default: devstoreaccount1/azureml-blobstore-{WORKSPACE_GUID})"
SERVERLESS = "compute: ok (serverless Standard_DS3_v2 (4 vCPUs): 24 of 24 vCPUs free in family standardDSv2Family " \
             "in westeurope)"
KEY_VAULT = "key vault: ok ('llmops-kv': 2 secret(s) listed)"
ROLES = "roles: ok (the 20 actions llmops needs on workspace 'llmops-ws')"
ALL_OK = [CREDENTIAL, WORKSPACE, DATASTORE, SERVERLESS, KEY_VAULT, ROLES]
OID = OBJECT_ID


@dataclass
class Case:
    id: str
    exit_code: int
    stdout: list[str]
    stderr: str = ""
    arrange: Callable[[AzureMLEmulator], None] = lambda emulator: None
    keys: dict[str, str] = field(default_factory=dict)
    unset: tuple[str, ...] = ()  # variables of the CI environment left out
    changes: dict[str, str] = field(default_factory=dict)  # ... or changed
    env_file: str = ""  # the repository's .env


CASES = [
    Case("all ok", 0, ALL_OK),
    Case("403 names the missing role", 1, [
        CREDENTIAL, WORKSPACE,
        "datastore: Azure denied Microsoft.MachineLearningServices/workspaces/datastores/read on workspace "
        f"'llmops-ws' (AuthorizationFailed): the identity (object id {OID}) needs the role 'AzureML Data Scientist' "
        f"there: az role assignment create --assignee-object-id {OID} --role \"AzureML Data Scientist\" --scope "
        f"{WS_ID}",
        SERVERLESS, KEY_VAULT,
        "roles: missing on workspace 'llmops-ws': workspaces/datastores/read, workspaces/data/versions/write, which "
        f"the role 'AzureML Data Scientist' grants: az role assignment create --assignee-object-id {OID} --role "
        f"\"AzureML Data Scientist\" --scope {WS_ID}",
        "2 of 6 checks failed"],
        arrange=lambda e: (e.faults.forbid("workspaces/datastores/read"),
                           e.faults.forbid("workspaces/data/versions/write"))),
    Case("missing workspace", 1, [
        CREDENTIAL,
        f"workspace: {KEY}.WORKSPACE_NAME: workspace 'nope' not found in resource group 'llmops-rg'; set it to your "
        "Azure ML workspace's name (az ml workspace list -g llmops-rg -o table)",
        "datastore: skipped (needs the workspace)",
        "compute: skipped (needs the workspace's region, for the quota of serverless compute)",
        KEY_VAULT,
        "roles: skipped (needs the workspace)",
        "1 of 6 checks failed"], keys={"WORKSPACE_NAME": "nope"}),
    Case("no login", 1, [
        "credential: no Azure login found: run 'az login' (laptop), log in with azure/login and OIDC before llmops "
        "(GitHub Actions), or give the compute a managed identity (Azure); --verbose shows what each credential said",
        "workspace: skipped (needs the credential)", "datastore: skipped (needs the credential)",
        "compute: skipped (needs the credential)", "key vault: skipped (needs the credential)",
        "roles: skipped (needs the credential)", "1 of 6 checks failed"],
        changes={"IDENTITY_HEADER": "not the platform's"}),
    Case("no subscription id", 1, [],
         "error: AZURE_SUBSCRIPTION_ID is not set: put it in .env or the environment (az account show --query id -o "
         "tsv)\n", unset=("AZURE_SUBSCRIPTION_ID",)),
    Case("the subscription in .env, a cluster, a retired runtime", 0, [
        f"note: {KEY}.RUNTIME_NAME: 'pf-runtime' is ignored: prompt flow runtimes retire with prompt flow on "
        "2027-04-20; llmops runs its own engine in Azure ML jobs: remove RUNTIME_NAME and set COMPUTE_NAME or "
        "INSTANCE_TYPE",
        CREDENTIAL, WORKSPACE, DATASTORE, "compute: ok (amlcompute 'cpu-cluster': STANDARD_DS3_V2, 0 to 4 nodes)",
        KEY_VAULT, ROLES], keys={"COMPUTE_NAME": "cpu-cluster", "RUNTIME_NAME": "pf-runtime"},
        unset=("AZURE_SUBSCRIPTION_ID",), env_file=f"AZURE_SUBSCRIPTION_ID={SUB}\n"),
    Case("missing cluster", 1, [
        CREDENTIAL, WORKSPACE, DATASTORE,
        f"compute: {KEY}.COMPUTE_NAME: compute 'gpu-cluster' not found in workspace 'llmops-ws'; set it to a "
        "compute cluster's name (az ml compute list -g llmops-rg -w llmops-ws -o table), or remove it to run on "
        "serverless compute", KEY_VAULT, ROLES, "1 of 6 checks failed"], keys={"COMPUTE_NAME": "gpu-cluster"}),
    Case("no quota left for serverless", 1, [
        CREDENTIAL, WORKSPACE, DATASTORE,
        f"compute: {KEY}.INSTANCE_TYPE: serverless Standard_DS4_v2 needs 8 vCPUs of family standardDSv2Family, 2 of "
        "24 free in westeurope, 100 of 100 in the region's total: request more quota (Azure portal, Quotas, "
        "Machine learning) or set a size with free quota", KEY_VAULT, ROLES, "1 of 6 checks failed"],
        arrange=lambda e: e.quota.set(DSV2, limit=24, in_use=22), keys={"INSTANCE_TYPE": "Standard_DS4_v2"}),
    Case("a VM size the region does not offer", 1, [
        CREDENTIAL, WORKSPACE, DATASTORE,
        f"compute: {KEY}.INSTANCE_TYPE: 'Standard_DS3' is not a VM size of westeurope; valid: Standard_DS2_v2, "
        "Standard_DS3_v2, Standard_DS4_v2, Standard_NC6s_v3 (all 4: az ml compute list-sizes -l westeurope -o "
        "table)", KEY_VAULT, ROLES, "1 of 6 checks failed"], keys={"INSTANCE_TYPE": "Standard_DS3"}),
]


def llmops_process(repo: Path, environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # A child process with exactly the environment a CI job exports.
    return subprocess.run([sys.executable, "-m", "llmops", "--root", str(repo), *args], env=environment,
                          capture_output=True, text=True, timeout=240)


def _arrange(emulator: AzureMLEmulator, tmp_path: Path, case: Case) -> None:
    write_azure_use_case(tmp_path, emulator, **case.keys)
    if case.env_file:
        (tmp_path / ".env").write_text(case.env_file, encoding="utf-8")
    for name in ("aoai-key", "openai-key"):
        emulator.key_vault.set_secret(name, "a value no check reads")
    case.arrange(emulator)


def _run(emulator: AzureMLEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: Case, *args: str) -> Done:
    """The check in this process, with the CI job's environment (and the case's changes) and no login of the shell."""
    _arrange(emulator, tmp_path, case)
    use_environment(monkeypatch, emulator, **case.changes)
    for name in case.unset:
        monkeypatch.delenv(name)
    assert "REQUESTS_CA_BUNDLE" in os.environ  # the emulator's CA, which the fixtures made this session trust
    return llmops(tmp_path, "azure", "check", "-u", "mini", "-e", ENV, *args)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_azure_check_prints_one_line_per_check_and_exits_by_the_result(azureml_emulator, tmp_path, monkeypatch,
                                                                      case):
    done = _run(azureml_emulator, tmp_path, monkeypatch, case)
    assert (done.out.splitlines(), done.err, done.code) == (case.stdout, case.stderr, case.exit_code)


def test_a_child_process_with_the_ci_jobs_environment_gets_the_same_lines(azureml_emulator, tmp_path):
    case = CASES[0]  # all ok
    _arrange(azureml_emulator, tmp_path, case)
    environment = {**clean_environment(), **llmops_environment(azureml_emulator), "PYTHONPATH": str(REPO)}
    assert "REQUESTS_CA_BUNDLE" in environment
    done = llmops_process(tmp_path, environment, "azure", "check", "-u", "mini", "-e", ENV)
    assert (done.stdout.splitlines(), done.stderr, done.returncode) == (case.stdout, case.stderr, case.exit_code)
    assert azureml_emulator.context.tokens_issued  # the child's own credential asked the managed identity


def test_the_throttled_workspace_read_waited_as_retry_after_asked_then_all_is_ok(azureml_emulator, tmp_path,
                                                                                 monkeypatch):
    case = Case("throttled, then ok", 0, ALL_OK, arrange=lambda e: e.faults.throttle(
        2, status=429, retry_after=1, path="/workspaces/llmops-ws", method="GET"))
    done = _run(azureml_emulator, tmp_path, monkeypatch, case)
    assert (done.out.splitlines(), done.err, done.code) == (case.stdout, case.stderr, case.exit_code)
    tries = [r for r in azureml_emulator.requests if r.path == WS_ID]
    assert [r.status for r in tries] == [429, 429, 200]
    assert all(b.received_at - a.received_at >= 1.0 for a, b in zip(tries, tries[1:], strict=False))


def test_json_gives_each_check_and_the_verdict(azureml_emulator, tmp_path, monkeypatch):
    case = Case("json", 1, [], arrange=lambda e: e.faults.forbid("workspaces/data/versions/write"))
    done = _run(azureml_emulator, tmp_path, monkeypatch, case, "--json")
    result = json.loads(done.out)
    assert (result["ok"], result["env"], done.code) == (False, ENV, 1)
    assert [(c["name"], c["status"]) for c in result["checks"]] == [
        ("credential", "ok"), ("workspace", "ok"), ("datastore", "ok"), ("compute", "ok"), ("key vault", "ok"),
        ("roles", "problem")]


def test_the_child_environment_carries_no_login_of_the_shell(monkeypatch):
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "a developer's own")
    monkeypatch.setenv("IDENTITY_ENDPOINT", "http://169.254.169.254/")
    assert not {"AZURE_CLIENT_SECRET", "IDENTITY_ENDPOINT"} & set(clean_environment())
    assert clean_environment({"PATH": os.defpath}) == {"PATH": os.defpath}
