"""register-data and register-model on an azureml env, as a user runs them (the CLI, the environment a CI job
exports), against the emulator through the real azure-ai-ml client, with the bytes in Azurite: a version only
when the content changed, content-addressed blobs, the tags; a 403 or a dropped connection while looking up the
latest version stops the step with its one-line error and registers nothing."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from llmops.backends import open_backend
from llmops.backends.azureml.settings import AzureVariables
from llmops.backends.content_hash import flow_hash
from llmops.config.use_case import load_use_case
from llmops.config.workspace import Workspace
from llmops.errors import NotFoundError
from tests.support.azureml_emulator import AzureMLEmulator
from tests.support.azureml_emulator.credential import OBJECT_ID
from tests.support.azureml_emulator.product import ENV, llmops_environment, use_environment, write_azure_use_case
from tests.support.cli import llmops
from tests.support.mini_use_case import edit_json

pytest_plugins = ["tests.support.azureml_emulator.fixtures"]
pytestmark = pytest.mark.timeout(300)

DATASET = "mini_azure"
MODEL = f"mini_{ENV}"
ON_AZURE = ("--use-case", "mini", "--env", ENV)


@pytest.fixture
def repo(azureml_emulator: AzureMLEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository holding the mini use case with env `azure` on the emulator's workspace and one dataset
    for it, and this process's environment as a CI job on Azure sets it."""
    folder = write_azure_use_case(tmp_path, azureml_emulator)
    edit_json(folder / "configs" / "data_config.json", lambda config: config["datasets"].append(
        {"ENV_NAME": ENV, "DATA_PURPOSE": "pr_data", "DATA_PATH": "data/pr.jsonl", "DATASET_NAME": DATASET,
         "DATASET_DESC": "mini lines for the azure env"}))
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit",
                                                 "-q", "-m", "mini"]):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True)
    use_environment(monkeypatch, azureml_emulator)
    return tmp_path


def head(repo: Path) -> str:
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def puts(emulator: AzureMLEmulator) -> list[str]:
    return [r.path for r in emulator.requests if r.method == "PUT"]


def blob(emulator: AzureMLEmulator, path: str) -> bytes:
    return emulator.context.storage.container_client().download_blob(path).readall()


def versions(emulator: AzureMLEmulator, kind: str, name: str) -> list[str]:
    return sorted(v["name"] for v in emulator.store.children(kind, name, "versions"))


# register-data


def test_register_data_makes_a_version_only_when_the_bytes_change(azureml_emulator, repo):
    data = repo / "use_cases" / "mini" / "data" / "pr.jsonl"
    first_sha = hashlib.sha256(data.read_bytes()).hexdigest()

    assert llmops(repo, "register-data", *ON_AZURE) == (
        0, f"{DATASET}: registered version 1 (4 lines, sha256 {first_sha[:12]})\n", "")
    asset = azureml_emulator.ml_client().data.get(DATASET, "1")
    assert asset.tags == {"sha256": first_sha, "rows": "4", "path": "use_cases/mini/data/pr.jsonl",
                          "git_commit": head(repo), "git_dirty": "false"}
    assert (asset.type, asset.description) == ("uri_file", "mini lines for the azure env")
    assert asset.path.endswith(f"/datastores/workspaceblobstore/paths/llmops/data/{first_sha}/pr.jsonl")
    assert blob(azureml_emulator, f"llmops/data/{first_sha}/pr.jsonl") == data.read_bytes()

    azureml_emulator.requests.clear()
    assert llmops(repo, "register-data", *ON_AZURE) == (
        0, f"{DATASET}: unchanged at version 1 (4 lines, sha256 {first_sha[:12]})\n", "")
    assert puts(azureml_emulator) == []

    data.write_text(data.read_text() + '{"url": "https://apps.example.com/e", "answer": "App"}\n')
    second_sha = hashlib.sha256(data.read_bytes()).hexdigest()
    assert llmops(repo, "register-data", *ON_AZURE) == (
        0, f"{DATASET}: registered version 2 (5 lines, sha256 {second_sha[:12]})\n", "")
    second = azureml_emulator.ml_client().data.get(DATASET, "2")
    assert (second.tags["sha256"], second.tags["rows"], second.tags["git_dirty"]) == (second_sha, "5", "true")
    assert blob(azureml_emulator, f"llmops/data/{second_sha}/pr.jsonl") == data.read_bytes()


def test_data_reverted_to_earlier_bytes_is_a_new_latest_version_found_by_its_bytes(azureml_emulator, repo):
    data = repo / "use_cases" / "mini" / "data" / "pr.jsonl"
    original = data.read_bytes()
    llmops(repo, "register-data", *ON_AZURE)
    data.write_bytes(original + b'{"url": "https://example.com/f", "answer": "None"}\n')
    llmops(repo, "register-data", *ON_AZURE)
    data.write_bytes(original)
    # Azure ML's rule: compared with the latest version only, so the latest is always the data last registered.
    assert llmops(repo, "register-data", *ON_AZURE)[1].startswith(f"{DATASET}: registered version 3 (4 lines")

    workspace = Workspace.find(repo)
    registry = open_backend(workspace, load_use_case(workspace, "mini"), ENV,
                            AzureVariables(llmops_environment(azureml_emulator))).registry.data
    assert registry.current_version(DATASET, data).version == 3  # type: ignore[union-attr]
    assert [(v.version, v.rows) for v in registry.list_versions(DATASET)] == [(1, 4), (2, 5), (3, 4)]
    assert [v.name for v in registry.list_versions()] == [DATASET] * 3


# Failures while looking up the latest version stop the step: the original template registered a new version then.


@dataclass
class Fault:
    id: str
    command: str
    arrange: Callable[[AzureMLEmulator], None]
    error: str  # the one line on stderr; {port} is the emulator's
    warnings: tuple[str, ...] = ()  # what the step logs before it


OID = OBJECT_ID  # the managed identity the emulator signs in
WS_ID = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/llmops-rg/providers/"
         "Microsoft.MachineLearningServices/workspaces/llmops-ws")
NO_EXPERIMENT = ("no experiment of mini in env azure yet: the model's lineage names no runs or data",)
RESET = ("cannot reach 127.0.0.1:{port} (the connection closed before an answer): check the network, and any proxy "
         "(HTTPS_PROXY) or firewall between here and Azure")

FAULTS = [
    Fault("403 reading data versions", "register-data", lambda e: e.faults.forbid("data/versions/read"),
          "Azure denied Microsoft.MachineLearningServices/workspaces/data/versions/read on workspace 'llmops-ws' "
          f"(AuthorizationFailed): the identity (object id {OID}) needs the role 'AzureML Data Scientist' there: az "
          f"role assignment create --assignee-object-id {OID} --role \"AzureML Data Scientist\" --scope {WS_ID}"),
    # azure-core retries a dropped GET 4 times (backoff 0, 1.6, 3.2, 6.4 s): the fifth drop ends it.
    Fault("the connection drops on every try", "register-data",
          lambda e: e.faults.reset(5, path=f"/data/{DATASET}/versions", method="GET"), RESET),
    Fault("403 reading model versions", "register-model", lambda e: e.faults.forbid("models/versions/read"),
          "Azure denied Microsoft.MachineLearningServices/workspaces/models/versions/read on workspace 'llmops-ws' "
          f"(AuthorizationFailed): the identity (object id {OID}) needs the role 'AzureML Data Scientist' there: az "
          f"role assignment create --assignee-object-id {OID} --role \"AzureML Data Scientist\" --scope {WS_ID}",
          NO_EXPERIMENT),
    Fault("the connection drops on every try", "register-model",
          lambda e: e.faults.reset(5, path=f"/models/{MODEL}/versions", method="GET"), RESET, NO_EXPERIMENT),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f"{f.command}: {f.id}" for f in FAULTS])
def test_a_failed_lookup_stops_the_step_and_registers_nothing(azureml_emulator, repo, fault):
    fault.arrange(azureml_emulator)
    code, out, err = llmops(repo, fault.command, *ON_AZURE)
    port = re.search(r":(\d+)$", azureml_emulator.base_url)[1]  # type: ignore[index]
    assert (code, out, err.splitlines()) == (1, "", [*fault.warnings, "error: " + fault.error.format(port=port)])
    assert puts(azureml_emulator) == []
    assert versions(azureml_emulator, "data", DATASET) == versions(azureml_emulator, "models", MODEL) == []


# register-model


def test_register_model_makes_a_version_only_when_the_flow_changes(azureml_emulator, repo):
    flow = repo / "use_cases" / "mini" / "flows" / "standard"
    first_sha = flow_hash(flow)

    code, out, _ = llmops(repo, "register-model", *ON_AZURE)
    assert code == 0
    assert out.splitlines()[0] == f"model {MODEL}: registered version 1 (flow sha256 {first_sha[:12]})"
    assert out.splitlines()[1] == f"snapshot: {repo / '.llmops' / 'azureml' / 'models' / first_sha}"
    model = azureml_emulator.ml_client().models.get(MODEL, "1")
    assert model.type == "custom_model"
    assert model.path.endswith(f"/datastores/workspaceblobstore/paths/llmops/models/{first_sha}")
    assert model.tags == {"sha256": first_sha, "use_case": "mini", "env": ENV, "flow": "standard",
                          "git_commit": head(repo), "git_dirty": "false", "variant": "defaults",
                          "runs": "0 experiment, 0 evaluation"}
    lineage = json.loads(model.properties["llmops.lineage"])
    assert (lineage["use_case"], lineage["git"], lineage["flow_path"]) == (
        "mini", {"commit": head(repo), "dirty": False}, "flows/standard")
    for name in ("flow.dag.yaml", "classify.py"):
        assert blob(azureml_emulator, f"llmops/models/{first_sha}/{name}") == (flow / name).read_bytes()

    azureml_emulator.requests.clear()
    code, out, _ = llmops(repo, "register-model", *ON_AZURE)
    assert (code, out.splitlines()[0]) == (0, f"model {MODEL}: unchanged at version 1 (flow sha256 {first_sha[:12]})")
    assert puts(azureml_emulator) == []

    (flow / "classify.py").write_text((flow / "classify.py").read_text() + "\n# tuned\n")
    second_sha = flow_hash(flow)
    code, out, _ = llmops(repo, "register-model", *ON_AZURE)
    assert (code, out.splitlines()[0]) == (0, f"model {MODEL}: registered version 2 (flow sha256 {second_sha[:12]})")
    assert azureml_emulator.ml_client().models.get(MODEL, "2").tags["git_dirty"] == "true"

    code, out, _ = llmops(repo, "models", "list", *ON_AZURE)
    assert code == 0
    assert [line.split("  ")[:2] for line in out.splitlines()] == [
        [f"{MODEL} v1", f"sha256 {first_sha[:12]}"], [f"{MODEL} v2", f"sha256 {second_sha[:12]}"]]
    assert f"git {head(repo)[:8]}+uncommitted" in out.splitlines()[1]


def test_a_model_version_keeps_its_whole_lineage_and_is_downloaded_where_its_snapshot_is_not(azureml_emulator, repo):
    workspace = Workspace.find(repo)
    flow = repo / "use_cases" / "mini" / "flows" / "standard"
    lineage = {"use_case": "mini", "env": ENV, "flow": "standard", "git": {"commit": head(repo), "dirty": False},
               "data": [{"name": DATASET, "version": 2}], "experiment_runs": ["run-a", "run-b"],
               "evaluation_runs": ["eval-a"], "variant": {"classify": "variant_1"},
               "variant_label": "classify.variant_1", "variant_source": "report", "metrics": {"accuracy": 0.75},
               "report": "reports/mini/azure/x"}
    models = open_backend(workspace, load_use_case(workspace, "mini"), ENV,
                          AzureVariables(llmops_environment(azureml_emulator))).registry.models
    registered = models.register(MODEL, flow, lineage)
    tags = azureml_emulator.ml_client().models.get(MODEL, "1").tags
    assert (tags["data"], tags["runs"], tags["metrics"]) == (f"{DATASET}:2", "2 experiment, 1 evaluation",
                                                             "accuracy=0.75")

    cache = workspace.state_dir / "azureml" / "models"
    shutil.rmtree(cache)  # as on another machine: registered there, nothing here
    latest = models.latest(MODEL)
    assert (latest.version, latest.sha256, latest.snapshot, latest.lineage) == (
        1, flow_hash(flow), cache / flow_hash(flow), lineage)
    assert flow_hash(latest.snapshot) == registered.sha256
    assert models.get(MODEL, 1) == latest


def test_an_unknown_model_or_version_is_named_with_those_that_exist(azureml_emulator, repo):
    llmops(repo, "register-model", *ON_AZURE)
    workspace = Workspace.find(repo)
    models = open_backend(workspace, load_use_case(workspace, "mini"), ENV,
                          AzureVariables(llmops_environment(azureml_emulator))).registry.models
    with pytest.raises(NotFoundError) as no_version:
        models.get(MODEL, 7)
    with pytest.raises(NotFoundError) as no_model:
        models.latest("mini_prod")
    assert str(no_version.value) == f"model '{MODEL}' has no version 7; versions: 1"
    assert str(no_model.value) == (f"unknown model 'mini_prod'; valid: {MODEL}. Register it with: llmops "
                                   "register-model --use-case <name> --env <env> (a model is named <use_case>_<env>)")
