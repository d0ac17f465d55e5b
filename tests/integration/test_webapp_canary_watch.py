"""`llmops endpoint watch --target webapp` against the emulator: a broken release on the staging slot is rolled back.

Each slot runs a real endpoint server from its image's build context and ships its production log to Azurite every
CANARY.LOG_SEGMENT_SECONDS (1 s here), named by the release it runs. The watch reads the staging slot's answers
(the canary) from the shipped segments, sends the same inputs to production's release alone (x-ms-routing-name=self),
judges both with the use case's post-production flow, routes 0% to the staging slot, and keeps its decisions in the
production-log container, where `endpoint status` reads them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from llmops.backends.production_logs import CONTAINER, DECISIONS_PREFIX, SEGMENT_ENV
from llmops.serving.client import score
from llmops.serving.endpoint_key import EndpointKey
from tests.integration.test_azure_production_log import JUDGE_PY, POST_PROD_DAG
from tests.integration.test_webapp_deploy import APP, KEY_NAME, Release
from tests.support.azureml_emulator.emulator import AzureMLEmulator
from tests.support.azureml_emulator.product import ENV, use_environment
from tests.support.cli import llmops
from tests.support.mini_use_case import edit_json

pytest_plugins = ["tests.support.azureml_emulator.fixtures"]
pytestmark = pytest.mark.timeout(300)

CANARY = {"ALPHA": 0.1, "MARGIN": 0.2, "MIN_SAMPLE": 5, "POLL_SECONDS": 0.5, "LOG_SEGMENT_SECONDS": 1}
REQUESTS = 40
WEBAPP = ("-u", "mini", "-e", ENV, "--target", "webapp")


def with_post_prod_judge(folder: Path) -> None:
    """The env's post-production flow, the judge: 1 for a label (App, None), 0 for anything else."""
    edit_json(folder / "llmops_config.json",
              lambda config: config["envs"][-1].update({"POST_PROD_EVALUATION_FLOW_PATH": "flows/post_prod"}))
    (folder / "flows/post_prod").mkdir(parents=True)
    (folder / "flows/post_prod/flow.dag.yaml").write_text(POST_PROD_DAG, encoding="utf-8")
    (folder / "flows/post_prod/judge.py").write_text(JUDGE_PY, encoding="utf-8")
    edit_json(folder / "configs/mapping_config.json", lambda d: d["evaluation"].update(
        {"post_prod": {"url": "${data.url}", "category": "${data.category}"}}))


def test_a_broken_release_on_the_staging_slot_is_rolled_back_and_status_shows_why(
        tmp_path: Path, azureml_emulator: AzureMLEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    use_environment(monkeypatch, azureml_emulator)
    azureml_emulator.context.roles.append("User Access Administrator")  # may grant the log container's role
    monkeypatch.setenv("SSL_CERT_FILE", os.environ["REQUESTS_CA_BUNDLE"])  # the sites' HTTPS certificate
    release = Release(tmp_path / "repo", azureml_emulator)
    with_post_prod_judge(release.folder)
    live = release.register("App")
    release.deploy(release.host(CANARY=CANARY))
    canary = release.register("Broken")  # "Broken" for every apps. URL: no label, the judge gives it 0
    host = release.host(CANARY=CANARY, CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION="50")
    release.deploy(host)
    staging = azureml_emulator.web_apps.slot(APP, "staging")
    assert staging is not None and staging.app_settings[SEGMENT_ENV] == "1"

    key = EndpointKey(KEY_NAME, host.endpoint_key())
    served: dict[str, int] = {}
    for i in range(REQUESTS):
        reply = score(host.scoring_url(), {"url": f"https://apps.example.com/{i}"}, key=key, timeout=30)
        assert reply.status == 200, reply.body
        served[str(reply.deployment)] = served.get(str(reply.deployment), 0) + 1
    # No wait for the segments: the watch polls until they are shipped and its test has decided.
    watched = llmops(release.root, "endpoint", "watch", *WEBAPP, "--max-minutes", "3", "--json")

    assert watched.code == 3, watched
    result = json.loads(watched.out)
    assert (result["canary"], result["live"], result["traffic"]) == (canary, live, {live: 100, canary: 0})
    started, *_, rollback = result["decisions"]
    assert "requests are seen once their log segment is shipped, every 1 s" in started["reason"]
    assert rollback["action"] == "rollback" and (rollback["share_before"], rollback["share_after"]) == (50, 0)
    evidence = rollback["evidence"]
    assert evidence["verdict"] == "worse" and evidence["wins"] == 0 and evidence["ties"] == 0
    assert evidence["n"] <= served[canary] and evidence["via"] == ["shadow"]
    routing = host.routing()
    assert (routing.production, routing.staging, routing.staging_percent) == (live, canary, 0)
    print(f"\nrollback after {evidence['n']} judged requests of {served[canary]} the staging slot answered "
          f"(worse e-value {evidence['worse_e']:.1f}); served {served}")

    history = llmops(release.root, "endpoint", "traffic", *WEBAPP)
    assert f"{live}=100,{canary}=0" in history.out.splitlines()[-1]
    assert f"endpoint watch: rollback of {canary}; n=" in history.out.splitlines()[-1]
    status = llmops(release.root, "endpoint", "status", *WEBAPP)
    assert status.code == 0, status
    assert "canary decisions (newest last):" in status.out
    assert f"rollback: {canary} 50% -> 0%; canary significantly worse" in status.out
    client = azureml_emulator.context.storage.container_client(CONTAINER)
    kept = sorted(b.name for b in client.list_blobs(name_starts_with=f"{DECISIONS_PREFIX}/{APP}/"))
    assert kept == [f"{DECISIONS_PREFIX}/{APP}/{seq:08d}.json" for seq in range(1, len(result["decisions"]) + 1)]
