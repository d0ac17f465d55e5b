"""The Azure ML emulator, driven through the real azure-ai-ml client only (its REST models, its upload code,
its retry and polling policies); the blob store is Azurite."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from azure.ai.ml import Input, MLClient, Output, command, dsl
from azure.ai.ml._restclient.arm_ml_service import MachineLearningServicesMgmtClient
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import Data, Environment, ManagedOnlineEndpoint
from azure.ai.ml.parallel import RunFunction, parallel_run_function
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.support.azureml_emulator import AzureMLEmulator, FakeCredential
from tests.support.azureml_emulator.blob_storage import BlobLocation

pytest_plugins = ["tests.support.azureml_emulator.fixtures"]

ENVIRONMENT = Environment(
    image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04", conda_file={"dependencies": ["python=3.11", "pip"]}
)


@pytest.fixture
def ml(azureml_emulator: AzureMLEmulator) -> MLClient:
    return azureml_emulator.ml_client()


def _blob_text(emulator: AzureMLEmulator, uri: str) -> dict[str, str]:
    """The files a data URI names in Azurite, by path below it."""
    location = emulator.context.storage.locate(uri)
    assert location is not None, uri
    client = emulator.context.storage.container_client(location.container)
    return {
        b.name[len(location.prefix) :].lstrip("/") or Path(b.name).name: client.download_blob(b.name).readall().decode()
        for b in client.list_blobs(name_starts_with=location.prefix)
    }


# Data assets


@pytest.mark.parametrize("kind", [AssetTypes.URI_FILE, AssetTypes.URI_FOLDER])
def test_data_versions_upload_to_azurite_and_keep_their_tags(azureml_emulator, ml, tmp_path, kind):
    folder = tmp_path / "dataset"
    folder.mkdir()
    (folder / "lines.jsonl").write_text('{"q": 1}\n{"q": 2}\n')
    path = folder / "lines.jsonl" if kind == AssetTypes.URI_FILE else folder

    first = ml.data.create_or_update(Data(name="reviews", path=str(path), type=kind, tags={"sha256": "aaa"}))
    (folder / "lines.jsonl").write_text('{"q": 3}\n')
    second = ml.data.create_or_update(Data(name="reviews", path=str(path), type=kind, tags={"sha256": "bbb"}))

    assert (first.version, second.version) == ("1", "2")  # the SDK's auto-increment reads nextVersion
    assert first.path.startswith("azureml://") and "/datastores/workspaceblobstore/paths/LocalUpload/" in first.path
    assert _blob_text(azureml_emulator, first.path) == {"lines.jsonl": '{"q": 1}\n{"q": 2}\n'}
    got = ml.data.get("reviews", version="1")
    assert (got.tags, got.path, got.type) == ({"sha256": "aaa"}, first.path, kind)
    assert {(d.version, d.tags["sha256"]) for d in ml.data.list("reviews")} == {("1", "aaa"), ("2", "bbb")}
    assert [d.name for d in ml.data.list()] == ["reviews"]


def test_a_missing_data_version_is_the_sdks_resource_not_found(ml):
    with pytest.raises(ResourceNotFoundError, match="ResourceNotFound"):
        ml.data.get("reviews", version="7")


def _raw_client(
    emulator: AzureMLEmulator, api_version: str = "2023-04-01-preview"
) -> MachineLearningServicesMgmtClient:
    """The SDK's own REST client, which sends whatever body it is given (the MLClient validates first)."""
    emulator.ml_client()  # registers the emulator's cloud, so the client asks tokens for its audience
    return MachineLearningServicesMgmtClient(
        FakeCredential(), emulator.scope.subscription, base_url=emulator.base_url, api_version=api_version
    )


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("reviews", {"properties": {"dataType": "uri_file"}}, "properties.dataUri: The dataUri field is required."),
        (
            "reviews",
            {"properties": {"dataType": "uri_file", "dataUri": {"path": "x"}}},
            "properties.dataUri: The value must be of type str.",
        ),
        (
            "reviews",
            {"properties": {"dataType": "parquet", "dataUri": "azureml://datastores/x/paths/y"}},
            "properties.dataType: 'parquet' is not a valid dataType",
        ),
        (
            "reviews",
            {"properties": {"dataType": "uri_file", "dataUri": "azureml://x", "tags": ["a"]}},
            "properties.tags: The value must be an object.",
        ),
        (
            "bad name!",
            {"properties": {"dataType": "uri_file", "dataUri": "azureml://x"}},
            "Invalid data name 'bad name!'",
        ),
    ],
)
def test_the_service_refuses_what_it_would_refuse(azureml_emulator, name, body, message):
    client = _raw_client(azureml_emulator)
    with pytest.raises(HttpResponseError) as refused:
        client.data_versions.create_or_update(
            resource_group_name=azureml_emulator.scope.resource_group,
            workspace_name=azureml_emulator.scope.workspace,
            name=name,
            version="1",
            body=body,
        )
    assert refused.value.status_code == 400
    assert refused.value.error.code == "UserError"
    assert message in refused.value.error.message


def test_an_unknown_api_version_is_refused_as_arm_does(azureml_emulator):
    client = _raw_client(azureml_emulator, api_version="2099-01-01")
    with pytest.raises(HttpResponseError) as refused:
        client.data_versions.get(
            resource_group_name=azureml_emulator.scope.resource_group,
            workspace_name=azureml_emulator.scope.workspace,
            name="reviews",
            version="1",
        )
    assert refused.value.status_code == 400
    assert refused.value.error.code == "NoRegisteredProviderFound"
    assert "API version '2099-01-01' for type 'workspaces/data/versions'" in refused.value.error.message


# Faults on the wire


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_with_retry_after_is_retried_by_the_sdk(azureml_emulator, ml, status):
    azureml_emulator.faults.throttle(1, status=status, retry_after=1, path="/datastores")
    assert ml.datastores.get_default().name == "workspaceblobstore"
    answered = [r.status for r in azureml_emulator.requests if "/datastores" in r.path]
    assert answered == [status, 200]


def test_a_missing_role_is_a_403_naming_the_action_and_scope(azureml_emulator, ml):
    azureml_emulator.faults.forbid("workspaces/data/versions/read")
    with pytest.raises(HttpResponseError) as refused:
        ml.data.get("reviews", version="1")
    assert refused.value.status_code == 403
    assert refused.value.error.code == "AuthorizationFailed"
    text = str(refused.value)
    assert (
        "does not have authorization to perform action "
        "'Microsoft.MachineLearningServices/workspaces/data/versions/read' over scope "
        f"'{azureml_emulator.scope.workspace_id}/data/reviews/versions/1'" in text
    )


# Online endpoints


def test_an_online_endpoint_goes_through_the_long_running_operation_protocol(azureml_emulator, ml):
    endpoint = ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="llmops-ep", auth_mode="key"))
    assert endpoint.result().provisioning_state == "Succeeded"
    calls = [
        (r.method, r.path.split("/")[-2], r.status)
        for r in azureml_emulator.requests
        if "/onlineEndpoints/" in r.path or "/mfeOperationsStatus/" in r.path
    ]
    # Created (201), polled InProgress then Succeeded, then the final GET of the resource.
    assert calls == [
        ("PUT", "onlineEndpoints", 201),
        ("GET", "mfeOperationsStatus", 200),
        ("GET", "mfeOperationsStatus", 200),
        ("GET", "onlineEndpoints", 200),
    ]
    keys = ml.online_endpoints.get_keys("llmops-ep")
    assert keys.primary_key and keys.secondary_key

    endpoint = ml.online_endpoints.get("llmops-ep")
    endpoint.traffic = {"blue": 100}
    with pytest.raises(HttpResponseError, match="do not exist under endpoint llmops-ep: blue"):
        ml.online_endpoints.begin_create_or_update(endpoint).result()
    ml.online_endpoints.begin_delete("llmops-ep").result()
    assert list(ml.online_endpoints.list()) == []


# Jobs


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return folder


def test_a_command_job_runs_and_its_output_and_logs_can_be_downloaded(azureml_emulator, ml, tmp_path):
    code = _write(
        tmp_path / "src",
        {
            "shout.py": """
        import pathlib, sys
        text = pathlib.Path(sys.argv[1]).read_text()
        pathlib.Path(sys.argv[2], "shout.txt").write_text(text.upper())
        print("shouted", len(text), "characters")
    """
        },
    )
    words = tmp_path / "words.txt"
    words.write_text("hello emulator\n")
    job = command(
        code=str(code),
        command="python shout.py ${{inputs.words}} ${{outputs.loud}}",
        inputs={"words": Input(type=AssetTypes.URI_FILE, path=str(words))},
        outputs={"loud": Output(type=AssetTypes.URI_FOLDER)},
        environment=ENVIRONMENT,
        compute="cpu-cluster",
    )
    submitted = ml.jobs.create_or_update(job)

    assert submitted.status == "NotStarted"
    assert azureml_emulator.jobs.wait(submitted.name) == "Completed"
    assert ml.jobs.get(submitted.name).status == "Completed"
    ml.jobs.download(submitted.name, download_path=str(tmp_path / "got"), output_name="loud")
    assert (tmp_path / "got" / "named-outputs" / "loud" / "shout.txt").read_text() == "HELLO EMULATOR\n"
    ml.jobs.download(submitted.name, download_path=str(tmp_path / "got"))  # the logs: the "default" output
    assert "shouted 15 characters" in (tmp_path / "got" / "artifacts" / "user_logs" / "std_log.txt").read_text()


def test_an_injected_job_failure_ends_the_job_failed(azureml_emulator, ml, tmp_path):
    azureml_emulator.faults.fail_job(message="Execution failed: the node ran out of disk.")
    job = command(command="echo never", environment=ENVIRONMENT, compute="cpu-cluster")
    submitted = ml.jobs.create_or_update(job)
    assert azureml_emulator.jobs.wait(submitted.name) == "Failed"
    with pytest.raises(Exception, match="the node ran out of disk"):
        ml.jobs.stream(submitted.name)


ENTRY_SCRIPT = """
    import json, os

    def init():
        global node
        node = os.environ["AZUREML_CR_NODE_RANK"]

    def run(mini_batch):
        return [json.dumps({"line": int(row["line"]), "node": node, "pid": os.getpid()})
                for _, row in mini_batch.iterrows()]
"""


def _parallel_pipeline(tmp_path: Path, lines: int, **settings: object):
    code = _write(tmp_path / "parallel_src", {"score.py": ENTRY_SCRIPT})
    data = _write(
        tmp_path / "lines",
        {
            "lines.jsonl": "".join(json.dumps({"line": i}) + "\n" for i in range(lines)),
            "MLTable": "paths:\n  - pattern: ./*.jsonl\ntransformations:\n  - read_json_lines:\n      encoding: utf8\n",
        },
    )
    shard = parallel_run_function(
        name="score_lines",
        inputs={"data": Input(type=AssetTypes.MLTABLE)},
        outputs={"scored": Output(type=AssetTypes.URI_FOLDER)},
        input_data="${{inputs.data}}",
        task=RunFunction(
            code=str(code), entry_script="score.py", environment=ENVIRONMENT, append_row_to="${{outputs.scored}}"
        ),
        **{
            "instance_count": 2,
            "max_concurrency_per_instance": 1,
            "mini_batch_size": "40",  # bytes: 2-3 lines
            "retry_settings": {"max_retries": 2, "timeout": 60},
            **settings,
        },
    )

    @dsl.pipeline(compute="cpu-cluster")
    def score(data):  # no annotations: the SDK reads them, and this module's are strings
        return {"scored": shard(data=data).outputs.scored}

    return score(data=Input(type=AssetTypes.MLTABLE, path=str(data)))


def _scored_lines(emulator: AzureMLEmulator, job: str) -> list[dict]:
    text = _blob_text(emulator, f"azureml://datastores/workspaceblobstore/paths/azureml/{job}/scored")
    return [json.loads(line) for line in text["parallel_run_step.txt"].splitlines()]


def test_a_parallel_node_shards_lines_over_two_nodes_and_appends_every_row_once(azureml_emulator, ml, tmp_path):
    submitted = ml.jobs.create_or_update(_parallel_pipeline(tmp_path, lines=20))
    assert azureml_emulator.jobs.wait(submitted.name) == "Completed"

    rows = _scored_lines(azureml_emulator, submitted.name)
    assert sorted(r["line"] for r in rows) == list(range(20))
    report = azureml_emulator.jobs.parallel_reports[submitted.name]["score_lines"]
    assert report.mini_batches > 2
    assert report.nodes_used == {0, 1}
    assert {r["node"] for r in rows} == {"0", "1"}


def test_a_node_killed_mid_mini_batch_is_retried_and_no_line_is_lost_or_repeated(azureml_emulator, ml, tmp_path):
    azureml_emulator.faults.kill_node(mini_batch=3)
    submitted = ml.jobs.create_or_update(_parallel_pipeline(tmp_path, lines=20))
    assert azureml_emulator.jobs.wait(submitted.name) == "Completed"

    assert sorted(r["line"] for r in _scored_lines(azureml_emulator, submitted.name)) == list(range(20))
    attempts = azureml_emulator.jobs.parallel_reports[submitted.name]["score_lines"].attempts
    assert [a.outcome for a in attempts if a.mini_batch == 3] == ["died", "completed"]
    completed = Counter(a.mini_batch for a in attempts if a.outcome == "completed")
    assert set(completed.values()) == {1}  # no finished mini-batch was run again


def test_mini_batches_out_of_retries_beyond_the_threshold_fail_the_job(azureml_emulator, ml, tmp_path):
    pipeline = _parallel_pipeline(
        tmp_path, lines=6, mini_batch_error_threshold=0, retry_settings={"max_retries": 1, "timeout": 60}
    )
    (tmp_path / "parallel_src" / "score.py").write_text(
        textwrap.dedent(ENTRY_SCRIPT).replace(
            "def run(mini_batch):",
            "def run(mini_batch):\n    if 4 in set(mini_batch['line']): raise ValueError('line 4')",
        )
    )
    submitted = ml.jobs.create_or_update(pipeline)
    assert azureml_emulator.jobs.wait(submitted.name) == "Failed"
    report = azureml_emulator.jobs.parallel_reports[submitted.name]["score_lines"]
    assert report.failed_mini_batches == 1
    with pytest.raises(Exception, match="more than the mini_batch_error_threshold of 0"):
        ml.jobs.stream(submitted.name)


def test_outputs_land_in_the_default_datastore(azureml_emulator, ml, tmp_path):
    """Where the product will read a job's results from, whatever the SDK's download does."""
    submitted = ml.jobs.create_or_update(
        command(
            command="mkdir -p ${{outputs.o}} && echo 1 > ${{outputs.o}}/one",
            outputs={"o": Output(type=AssetTypes.URI_FOLDER)},
            environment=ENVIRONMENT,
            compute="cpu-cluster",
        )
    )
    assert azureml_emulator.jobs.wait(submitted.name) == "Completed"
    location = BlobLocation(azureml_emulator.context.storage.container, f"azureml/{submitted.name}/o")
    assert ml.jobs.get(submitted.name).outputs["o"].path == azureml_emulator.context.storage.azureml_uri(location)


def test_a_running_job_is_listed_and_can_be_canceled(azureml_emulator, ml):
    submitted = ml.jobs.create_or_update(command(command="sleep 60", environment=ENVIRONMENT, compute="cpu-cluster"))
    assert submitted.name in [j.name for j in ml.jobs.list()]
    ml.jobs.begin_cancel(submitted.name).result()
    assert azureml_emulator.jobs.wait(submitted.name) == "Canceled"


def test_the_workspace_and_its_compute_are_there_and_a_missing_compute_is_not(azureml_emulator, ml):
    assert ml.workspaces.get(azureml_emulator.scope.workspace).location == "westeurope"
    assert ml.compute.get("cpu-cluster").size == "STANDARD_DS3_V2"
    with pytest.raises(ResourceNotFoundError):
        ml.compute.get("gpu-cluster")
    with pytest.raises(HttpResponseError, match="computes/gpu-cluster was not found"):
        ml.jobs.create_or_update(command(command="echo", environment=ENVIRONMENT, compute="gpu-cluster"))
