"""A managed online endpoint's production log, from scoring to post-production evaluation, against the emulator.

The deployment is a real endpoint server started from its image's build context with the environment the target
gave it; it signs in to Azurite as the endpoint's identity (Azure ML's token endpoint, MSI_ENDPOINT/MSI_SECRET, in
the emulator) and ships its log there; `llmops post-prod-eval` reads the segments back from the workspace's
storage, evaluates them on Azure ML (the emulator's jobs) and records them, so a second run finds nothing new and
a third evaluates only what came since.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from llmops.backends.azureml.online.identity import ROLE_IDS
from llmops.backends.production_logs import CONTAINER, URL_ENV, parse_segment
from tests.support.azureml_emulator import AzureMLEmulator
from tests.support.azureml_emulator.product import ENV, llmops_environment, write_azure_use_case
from tests.support.cli import Done, llmops
from tests.support.mini_use_case import edit_json

pytest_plugins = ["tests.support.azureml_emulator.fixtures"]
pytestmark = pytest.mark.timeout(600)

ENDPOINT = "mini-logged-ep"
POST_PROD_DAG = """\
inputs:
  url: {type: string}
  category: {type: string}
outputs:
  consistent:
    type: double
    reference: ${judge.output}
nodes:
- name: judge
  type: python
  source: {type: code, path: judge.py}
  inputs: {url: "${inputs.url}", category: "${inputs.category}"}
"""
JUDGE_PY = """\
from promptflow.core import tool


@tool
def judge(url: str, category: str) -> float:
    return 1.0 if category in ("App", "None") else 0.0
"""


def write_repo(repo: Path, emulator: AzureMLEmulator) -> None:
    folder = write_azure_use_case(repo, emulator, POST_PROD_EVALUATION_FLOW_PATH="flows/post_prod")
    (folder / "flows/post_prod").mkdir(parents=True)
    (folder / "flows/post_prod/flow.dag.yaml").write_text(POST_PROD_DAG, encoding="utf-8")
    (folder / "flows/post_prod/judge.py").write_text(JUDGE_PY, encoding="utf-8")
    edit_json(folder / "configs/mapping_config.json", lambda d: d["evaluation"].update(
        {"post_prod": {"url": "${data.url}", "category": "${data.category}"}}))
    edit_json(folder / "configs/deployment_config.json", lambda c: c.update({"azure_managed_endpoint": [{
        "ENV_NAME": ENV, "ENDPOINT_NAME": ENDPOINT, "CURRENT_DEPLOYMENT_NAME": "blue", "DEPLOYMENT_INSTANCE_COUNT": 1,
        "DEPLOYMENT_VM_SIZE": "Standard_DS3_v2", "TEST_FILE_PATH": "sample-request.json",
        # A segment a second, so the test waits seconds for what a real deployment ships every five minutes.
        "ENVIRONMENT_VARIABLES": {"LLMOPS_PRODUCTION_LOG_SEGMENT_S": "1"}}]}))


def shipped_entries(emulator: AzureMLEmulator) -> tuple[list[str], list[bytes]]:
    client = emulator.context.storage.container_client(CONTAINER)
    if not client.exists():
        return [], []
    names = sorted(b.name for b in client.list_blobs(name_starts_with=f"{ENDPOINT}/"))
    return names, [client.download_blob(name).readall() for name in names]


def wait_for_entries(emulator: AzureMLEmulator, count: int, timeout: float = 60) -> tuple[list[str], list[bytes]]:
    deadline = time.monotonic() + timeout
    while True:
        names, blobs = shipped_entries(emulator)
        if sum(blob.count(b"\n") for blob in blobs) >= count or time.monotonic() > deadline:
            return names, blobs
        time.sleep(0.25)


def score(uri: str, key: str, urls: list[str]) -> None:
    with requests.Session() as session:
        session.headers.update({"Authorization": f"Bearer {key}"})
        for url in urls:
            reply = session.post(uri, json={"url": url}, timeout=60)
            assert reply.status_code == 200, reply.text


@dataclass
class Scenario:
    emulator: AzureMLEmulator
    keys: tuple[str, str] = ("", "")
    steps: dict[str, Done] = field(default_factory=dict)
    shipped: dict[str, tuple[list[str], list[bytes]]] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def scenario(azureml_emulator_session: AzureMLEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    emulator = azureml_emulator_session
    emulator.reset()
    emulator.context.roles.append("User Access Administrator")  # this login may grant the endpoint its roles
    repo = tmp_path_factory.mktemp("logged")
    write_repo(repo, emulator)
    s = Scenario(emulator)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in llmops_environment(emulator).items():
            patch.setenv(name, value)
        assert llmops(repo, "register-model", "-u", "mini", "-e", ENV).code == 0
        built = llmops(repo, "image", "build", "-u", "mini", "-e", ENV, "--registry", emulator.workspace_registry,
                       "--json")
        assert built.code == 0, built
        image = json.loads(built.out)
        emulator.web_apps.push_image(image["image"], Path(image["context_dir"]))
        s.steps["deploy"] = llmops(repo, "deploy", "-u", "mini", "-e", ENV, "--target", "azure_managed")
        assert s.steps["deploy"].code == 0, s.steps["deploy"]
        client = emulator.ml_client()
        uri = client.online_endpoints.get(ENDPOINT).scoring_uri
        keys = client.online_endpoints.get_keys(ENDPOINT)
        s.keys = (keys.primary_key, keys.secondary_key)
        s.variables = dict(client.online_deployments.get("blue", ENDPOINT).environment_variables)
        first = [f"https://apps.example.com/{i}" for i in range(6)] + [f"https://example.com/{i}" for i in range(4)]
        score(uri, keys.primary_key, first)
        s.shipped["first"] = wait_for_entries(emulator, 1 + len(first))  # the smoke test's request, then ours
        s.steps["first eval"] = llmops(repo, "post-prod-eval", "-u", "mini", "-e", ENV, "--json")
        # test-endpoint's request is a probe: the segments since hold nothing to evaluate.
        s.steps["test-endpoint"] = llmops(repo, "test-endpoint", "-u", "mini", "-e", ENV, "--target", "azure_managed")
        wait_for_entries(emulator, 1 + len(first) + 1)
        s.steps["again"] = llmops(repo, "post-prod-eval", "-u", "mini", "-e", ENV)
        score(uri, keys.secondary_key, ["https://apps.example.com/later-1", "https://apps.example.com/later-2"])
        s.shipped["later"] = wait_for_entries(emulator, 1 + len(first) + 1 + 2)
        s.steps["later eval"] = llmops(repo, "post-prod-eval", "-u", "mini", "-e", ENV, "--json")
        yield s
    emulator.reset()


def test_the_deployment_is_told_where_to_ship_and_its_identity_may_write_there_alone(scenario):
    storage = scenario.emulator.context.storage
    assert scenario.variables[URL_ENV] == f"{storage.account_url}/{CONTAINER}"
    container = (f"/subscriptions/{scenario.emulator.scope.subscription}/resourceGroups/"
                 f"{scenario.emulator.scope.resource_group}/providers/Microsoft.Storage/storageAccounts/"
                 f"{storage.account}/blobServices/default/containers/{CONTAINER}")
    granted = [a for a in scenario.emulator.context.role_assignments
               if a["roleDefinitionId"].endswith(ROLE_IDS["Storage Blob Data Contributor"])]
    assert [a["scope"] for a in granted] == [container]
    assert (f"note: granted 'Storage Blob Data Contributor' on blob container '{CONTAINER}' to endpoint "
            f"'{ENDPOINT}'") in scenario.steps["deploy"].out


def test_segments_land_under_endpoint_deployment_and_date_with_no_key(scenario):
    names, blobs = scenario.shipped["first"]
    assert names, "nothing was shipped"
    segments = [parse_segment(name) for name in names]
    assert all(s is not None and (s.endpoint, s.deployment) == (ENDPOINT, "blue") for s in segments)
    entries = [json.loads(line) for blob in blobs for line in blob.decode().splitlines()]
    assert len(entries) == 11 and all(e["status"] == 200 and e["deployment"] == "blue" for e in entries)
    # The deploy's smoke test reached the server through the endpoint marked as a probe; the users' requests not.
    entries.sort(key=lambda e: e["timestamp"])
    assert [e.get("probe", False) for e in entries] == [True] + [False] * 10
    everything = b"".join(blobs)
    assert all(key.encode() not in everything for key in scenario.keys)
    assert b"Bearer" not in everything and b"authorization" not in everything.lower()
    assert "tokens" not in everything.decode()  # the identity's tokens never reach the log either


def test_post_prod_eval_reads_the_shipped_segments_and_reports_them(scenario):
    done = scenario.steps["first eval"]
    assert done.code == 0, done
    result = json.loads(done.out)
    assert result["source"].startswith(f"production log of endpoint {ENDPOINT} in https://")
    # The users' 10 requests; the smoke test is a probe, skipped.
    assert re.search(r"\(10 answered requests in [0-9]+ new segments?; 1 probe skipped: smoke tests, test-endpoint, "
                     r"canary shadows\)$", result["source"]), result["source"]
    assert result["deployments"] == ["blue"]
    assert Path(result["report"]).is_dir()


def test_a_second_run_finds_nothing_new_and_says_so(scenario):
    assert scenario.steps["test-endpoint"].code == 0, scenario.steps["test-endpoint"]
    done = scenario.steps["again"]
    assert done.code == 0, done
    assert f"the production log of endpoint '{ENDPOINT}'" in done.err
    assert "has no answered request left to evaluate" in done.err
    assert ("evaluated before by env 'azure' (evaluate them again with --again); only probe requests were logged "
            "(1: smoke tests, test-endpoint, canary shadows), and post-prod-eval evaluates users' requests alone; "
            "send the endpoint real requests first, e.g. curl -s -H 'Content-Type: application/json' -d '<flow "
            "inputs as JSON>' <scoring url> (llmops endpoint status -u mini -e azure --target azure_managed shows "
            "the URL)") in done.err
    assert done.out == ""


def test_a_later_run_evaluates_only_what_came_since(scenario):
    done = scenario.steps["later eval"]
    assert done.code == 0, done
    # The two users' requests; test-endpoint's probe, in a segment not evaluated yet, is skipped again.
    assert re.search(r"\(2 answered requests in [123] new segments?; 1 probe skipped: smoke tests, test-endpoint, "
                     r"canary shadows\)$", json.loads(done.out)["source"]), json.loads(done.out)["source"]
