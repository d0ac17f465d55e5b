"""`llmops endpoint watch` on a real local endpoint: a broken canary is rolled back, an equivalent one promoted step
by step to 100%, each decision logged with its evidence and shown by `endpoint status`.

Deterministic: python-only flows (no LLM), and the judge is the use case's post-production flow, which scores an
answer 1 when it is a valid label and 0 otherwise."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmops.serving import process
from llmops.serving.client import score
from llmops.serving.production_log import read_entries
from tests.support.cli import llmops
from tests.support.mini_use_case import edit_json, write_use_case

pytestmark = pytest.mark.timeout(300)

JUDGE_DAG = """\
inputs:
  url:
    type: string
  category:
    type: string
outputs:
  valid:
    type: double
    reference: ${check.output}
nodes:
- name: check
  type: python
  source: {type: code, path: check.py}
  inputs: {category: "${inputs.category}"}
"""

CHECK_PY = """\
from promptflow.core import tool


@tool
def check(category: str) -> float:
    return 1.0 if category in ("App", "None") else 0.0
"""

CLASSIFY = "use_cases/mini/flows/standard/classify.py"
V1_LINE = 'word = "App" if "app" in url else "None"'


def configure(repo: Path, current: str, current_share: str, prior: str, prior_share: str) -> None:
    edit_json(repo / "use_cases/mini/configs/deployment_config.json", lambda d: d["local_endpoint"][0].update({
        "CURRENT_DEPLOYMENT_NAME": current, "CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION": current_share,
        "PRIOR_DEPLOYMENT_NAME": prior, "PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION": prior_share,
        "CANARY": {"ALPHA": 0.1, "MARGIN": 0.2, "MIN_SAMPLE": 5, "PROMOTION_STEPS": [20, 60, 100],
                   "POLL_SECONDS": 0.2}}))


def release(repo: Path, line: str) -> None:
    path = repo / CLASSIFY
    path.write_text(path.read_text().replace(V1_LINE, line))
    assert llmops(repo, "register-model", "-u", "mini", "-e", "dev").code == 0
    path.write_text(path.read_text().replace(line, V1_LINE))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("canary")
    folder = write_use_case(root)
    (folder / "flows/judge").mkdir(parents=True)
    (folder / "flows/judge/flow.dag.yaml").write_text(JUDGE_DAG)
    (folder / "flows/judge/check.py").write_text(CHECK_PY)
    edit_json(folder / "llmops_config.json",
              lambda d: d["envs"][1].update({"POST_PROD_EVALUATION_FLOW_PATH": "flows/judge"}))
    edit_json(folder / "configs/mapping_config.json", lambda d: d["evaluation"].update(
        {"judge": {"url": "${data.url}", "category": "${data.category}"}}))
    configure(root, "blue", "100", "", "")
    assert llmops(root, "register-model", "-u", "mini", "-e", "dev").code == 0
    started = llmops(root, "endpoint", "up", "-u", "mini", "-e", "dev", "--provider", "replay", "--seed", "3")
    assert started.code == 0, started.err
    try:
        assert llmops(root, "deploy", "-u", "mini", "-e", "dev").code == 0
        yield root
    finally:
        process.stop(root / ".llmops", "mini")


def send(repo: Path, count: int, start: int = 0) -> None:
    info = process.running(repo / ".llmops", "mini")
    assert info is not None
    for i in range(start, start + count):
        reply = score(info.scoring_url, {"url": f"https://{'apps.' if i % 2 else ''}example.com/{i}"})
        assert reply.status == 200, reply.body


def status(repo: Path) -> dict:
    done = llmops(repo, "endpoint", "status", "-u", "mini", "-e", "dev", "--json")
    assert done.code == 0, done.err
    return json.loads(done.out)


def test_a_broken_canary_is_rolled_back_then_an_equivalent_one_is_promoted(repo: Path) -> None:
    # 1. A broken prompt: the canary answers a label that is not one.
    release(repo, 'word = "Broken"')
    configure(repo, "green", "50", "blue", "50")
    assert llmops(repo, "deploy", "-u", "mini", "-e", "dev").code == 0
    # test-endpoint's requests are routed as users' are, but they are probes: never canary traffic.
    assert llmops(repo, "test-endpoint", "-u", "mini", "-e", "dev", "--lines", "5").code == 0
    send(repo, 40)
    watched = llmops(repo, "endpoint", "watch", "-u", "mini", "-e", "dev", "--provider", "replay", "--once", "--json")
    assert watched.code == 3, watched.err
    result = json.loads(watched.out)
    entries = list(read_entries(repo / ".llmops/endpoints/mini/production_log.jsonl"))
    on_green = [e for e in entries if e["deployment"] == "green" and not e["mirror"]]
    assert any(e.get("probe") and not e.get("forced") for e in on_green)  # test-endpoint reached the canary
    users_on_green = [e for e in on_green if not e.get("probe")]
    shadows = [e for e in entries if e["deployment"] == "blue" and e.get("forced")]
    assert shadows and all(e.get("probe") for e in shadows)  # the watch's shadow requests are probes too
    assert result["traffic"] == {"blue": 100, "green": 0}
    started, rollback = result["decisions"]
    assert started["action"] == "started" and "with the post_prod_flow judge" in started["reason"]
    assert rollback["action"] == "rollback" and (rollback["share_before"], rollback["share_after"]) == (50, 0)
    evidence = rollback["evidence"]
    assert evidence["verdict"] == "worse" and evidence["wins"] == 0 and evidence["ties"] == 0
    assert evidence["losses"] == evidence["n"] >= 10  # every canary answer was judged worse than blue's
    assert evidence["n"] == len(users_on_green)  # the users' requests it answered, and no probe
    assert evidence["worse_e"] >= evidence["threshold"] == 10
    assert evidence["via"] == ["shadow"]  # the canary took live traffic: blue answered the same requests
    print(f"\nrollback after {evidence['n']} judged requests (worse e-value {evidence['worse_e']:.1f})")
    shown = llmops(repo, "endpoint", "status", "-u", "mini", "-e", "dev")
    assert "canary decisions (newest last):" in shown.out
    assert "rollback: green 50% -> 0%; canary significantly worse" in shown.out

    # 2. An equivalent release (the same answers) goes 20% -> 60% -> 100% while traffic flows.
    release(repo, V1_LINE + "  # the same answers")
    configure(repo, "green", "20", "blue", "80")
    assert llmops(repo, "deploy", "-u", "mini", "-e", "dev").code == 0
    stop = threading.Event()

    def traffic() -> None:
        i = 1000
        while not stop.is_set():
            send(repo, 5, i)
            i += 5

    sender = threading.Thread(target=traffic, daemon=True)
    sender.start()
    try:
        watched = llmops(repo, "endpoint", "watch", "-u", "mini", "-e", "dev", "--provider", "replay",
                         "--max-minutes", "2", "--json")
    finally:
        stop.set()
        sender.join(30)
    assert watched.code == 0, watched.err
    result = json.loads(watched.out)
    assert result["traffic"] == {"blue": 0, "green": 100}
    promotions = [d for d in result["decisions"] if d["action"] == "promote"]
    assert [(d["share_before"], d["share_after"]) for d in promotions] == [(20, 60), (60, 100)]
    assert all(d["evidence"]["verdict"] == "non-inferior" and d["evidence"]["losses"] == 0 for d in promotions)
    assert all(d["evidence"]["judged_at_share"] >= 5 for d in promotions)
    print(f"promoted to 60% after {promotions[0]['evidence']['n']} judged requests, to 100% after "
          f"{promotions[1]['evidence']['n']}")
    latest = status(repo)["canary_decisions"][-1]
    assert latest["action"] == "promote" and latest["share_after"] == 100
