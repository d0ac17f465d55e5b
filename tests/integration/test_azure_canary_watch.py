"""`llmops endpoint watch` on a managed online endpoint of the Azure ML emulator: a broken canary is rolled back.

The deployments are real endpoint servers started from their images' build contexts; they ship their production
log to Azurite every CANARY.LOG_SEGMENT_SECONDS (1 s here), the watch reads the canary's answers from the shipped
segments, sends the same inputs to the live deployment alone (the azureml-model-deployment header), judges both with
the use case's post-production flow (an Azure ML job of the emulator), rolls back through the endpoint's traffic,
and keeps its decisions in the production-log container, where `endpoint status` reads them from any machine.
The code is shared by the Kubernetes target (the same online-endpoint target), so one kind is tested.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from llmops.backends.production_logs import CONTAINER, DECISIONS_PREFIX, SEGMENT_ENV
from tests.integration.test_azure_production_log import JUDGE_PY, POST_PROD_DAG
from tests.support.azureml_emulator import AzureMLEmulator
from tests.support.azureml_emulator.product import ENV, llmops_environment, write_azure_use_case
from tests.support.cli import Done, llmops
from tests.support.mini_use_case import CLASSIFY_PY, edit_json

pytest_plugins = ["tests.support.azureml_emulator.fixtures"]
pytestmark = pytest.mark.timeout(600)

ENDPOINT = "mini-canary-ep"
BROKEN_PY = CLASSIFY_PY.replace('"App" if "app" in url else "None"', '"Broken"')  # not a label: the judge gives 0
REQUESTS = 40
WATCH = ("endpoint", "watch", "-u", "mini", "-e", ENV, "--target", "azure_managed")
STATUS = ("endpoint", "status", "-u", "mini", "-e", ENV, "--target", "azure_managed")


def configure(repo: Path, **keys: Any) -> None:
    block = {"ENV_NAME": ENV, "ENDPOINT_NAME": ENDPOINT, "CURRENT_DEPLOYMENT_NAME": "blue",
             "DEPLOYMENT_INSTANCE_COUNT": 1, "DEPLOYMENT_VM_SIZE": "Standard_DS3_v2",
             "CANARY": {"ALPHA": 0.1, "MARGIN": 0.2, "MIN_SAMPLE": 5, "POLL_SECONDS": 0.5,
                        "LOG_SEGMENT_SECONDS": 1}, **keys}
    edit_json(repo / "use_cases/mini/configs/deployment_config.json",
              lambda c: c.update({"azure_managed_endpoint": [block]}))


def release(repo: Path, emulator: AzureMLEmulator, source: str) -> None:
    """A model version of `source`, its image built and pushed (the emulator's registry keeps the build context)."""
    (repo / "use_cases/mini/flows/standard/classify.py").write_text(source, encoding="utf-8")
    assert llmops(repo, "register-model", "-u", "mini", "-e", ENV).code == 0
    built = llmops(repo, "image", "build", "-u", "mini", "-e", ENV, "--registry", emulator.workspace_registry, "--json")
    assert built.code == 0, built
    image = json.loads(built.out)
    emulator.web_apps.push_image(image["image"], Path(image["context_dir"]))


@dataclass
class Scenario:
    emulator: AzureMLEmulator
    repo: Path
    steps: dict[str, Done] = field(default_factory=dict)
    served: dict[str, int] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def scenario(azureml_emulator_session: AzureMLEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    emulator = azureml_emulator_session
    emulator.reset()
    emulator.context.roles.append("User Access Administrator")  # this login may grant the endpoint its roles
    repo = tmp_path_factory.mktemp("cloud-canary")
    folder = write_azure_use_case(repo, emulator, POST_PROD_EVALUATION_FLOW_PATH="flows/post_prod")
    (folder / "flows/post_prod").mkdir(parents=True)
    (folder / "flows/post_prod/flow.dag.yaml").write_text(POST_PROD_DAG, encoding="utf-8")
    (folder / "flows/post_prod/judge.py").write_text(JUDGE_PY, encoding="utf-8")
    edit_json(folder / "configs/mapping_config.json", lambda d: d["evaluation"].update(
        {"post_prod": {"url": "${data.url}", "category": "${data.category}"}}))
    s = Scenario(emulator, repo)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in llmops_environment(emulator).items():
            patch.setenv(name, value)
        configure(repo)
        release(repo, emulator, CLASSIFY_PY)
        assert llmops(repo, "deploy", "-u", "mini", "-e", ENV, "--target", "azure_managed").code == 0
        release(repo, emulator, BROKEN_PY)
        configure(repo, CURRENT_DEPLOYMENT_NAME="green", CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION="50",
                  PRIOR_DEPLOYMENT_NAME="blue", PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION="50")
        s.steps["deploy"] = llmops(repo, "deploy", "-u", "mini", "-e", ENV, "--target", "azure_managed")
        assert s.steps["deploy"].code == 0, s.steps["deploy"]
        client = emulator.ml_client()
        s.variables = dict(client.online_deployments.get("green", ENDPOINT).environment_variables)
        uri, key = client.online_endpoints.get(ENDPOINT).scoring_uri, client.online_endpoints.get_keys(ENDPOINT)
        with requests.Session() as session:
            session.headers.update({"Authorization": f"Bearer {key.primary_key}"})
            for i in range(REQUESTS):
                reply = session.post(uri, json={"url": f"https://{'apps.' if i % 2 else ''}example.com/{i}"},
                                     timeout=60)
                assert reply.status_code == 200, reply.text
                served = reply.headers["azureml-model-deployment"]
                s.served[served] = s.served.get(served, 0) + 1
        # No wait for the segments: the watch polls until they are shipped and its test has decided.
        s.steps["watch"] = llmops(repo, *WATCH, "--max-minutes", "3", "--json")
        s.steps["traffic"] = llmops(repo, "endpoint", "traffic", "-u", "mini", "-e", ENV, "--target", "azure_managed")
        s.steps["status"] = llmops(repo, *STATUS)
        elsewhere = tmp_path_factory.mktemp("another-machine")  # a state directory that never saw the watch
        s.steps["status elsewhere"] = llmops(repo, *STATUS, "--json", env={"LLMOPS_STATE_DIR": str(elsewhere)})
        yield s
    emulator.reset()


def test_the_deployments_ship_their_log_as_often_as_the_canary_settings_say(scenario):
    assert scenario.variables[SEGMENT_ENV] == "1"


def test_a_broken_canary_is_rolled_back_on_its_shipped_answers(scenario):
    watched = scenario.steps["watch"]
    assert watched.code == 3, watched
    result = json.loads(watched.out)
    assert result["traffic"] == {"blue": 100, "green": 0}
    started, *_, rollback = result["decisions"]
    assert started["action"] == "started"
    assert "requests are seen once their log segment is shipped, every 1 s" in started["reason"]
    assert rollback["action"] == "rollback" and (rollback["share_before"], rollback["share_after"]) == (50, 0)
    evidence = rollback["evidence"]
    assert evidence["verdict"] == "worse" and evidence["wins"] == 0 and evidence["ties"] == 0
    assert evidence["worse_e"] >= evidence["threshold"] == 10
    assert evidence["n"] <= scenario.served["green"]  # only the canary's own answers, each judged once
    assert evidence["via"] == ["shadow"]  # blue answered the same inputs, sent to it alone
    traffic = {k: v for k, v in scenario.emulator.ml_client().online_endpoints.get(ENDPOINT).traffic.items() if v}
    assert traffic == {"blue": 100}
    print(f"\nrollback after {evidence['n']} judged requests of {scenario.served['green']} the canary answered "
          f"(worse e-value {evidence['worse_e']:.1f})")


def test_the_rollback_is_in_the_endpoints_traffic_history(scenario):
    history = scenario.steps["traffic"]
    assert history.code == 0, history
    last = history.out.splitlines()[-1]
    assert "blue=100,green=0" in last and "endpoint watch: rollback of green; n=" in last and "(wins 0," in last


def test_the_decisions_are_kept_beside_the_log_and_shown_by_status_from_any_machine(scenario):
    shown = scenario.steps["status"]
    assert shown.code == 0, shown
    assert "canary decisions (newest last):" in shown.out
    assert "rollback: green 50% -> 0%; canary significantly worse" in shown.out
    elsewhere = scenario.steps["status elsewhere"]
    assert elsewhere.code == 0, elsewhere
    decisions = json.loads(elsewhere.out)["canary_decisions"]
    assert [d["action"] for d in decisions][0] == "started" and decisions[-1]["action"] == "rollback"
    client = scenario.emulator.context.storage.container_client(CONTAINER)
    names = sorted(b.name for b in client.list_blobs(name_starts_with=f"{DECISIONS_PREFIX}/{ENDPOINT}/"))
    assert names == [f"{DECISIONS_PREFIX}/{ENDPOINT}/{seq:08d}.json" for seq in range(1, len(decisions) + 1)]
    kept = json.loads(client.download_blob(names[-1]).readall())
    assert kept["action"] == "rollback" and kept["evidence"]["verdict"] == "worse"
