"""A/B on a real endpoint on loopback: deploy v1 at 100%, v2 at 10%; 2,000 requests split 90/10; sticky keys;
a failing smoke test leaves traffic unchanged; rollback; mirrored outputs logged; zero failures under load
while traffic shifts and rolls back."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from llmops.backends.local.registry import endpoints as endpoint_registry
from llmops.backends.traffic import Split
from llmops.serving import process
from llmops.serving.client import ScoreReply, get_json, score
from llmops.serving.production_log import read_entries
from tests.support.cli import Done, llmops
from tests.support.mini_use_case import edit_json, write_use_case

pytestmark = pytest.mark.timeout(600)
# v1 answers "App"/"None"; v2 answers "Application"/"Nothing", so every answer shows which version made it.
V1 = {"https://apps.example.com/x": "App"}
V2_EDIT = ('word = "App" if "app" in url else "None"', 'word = "Application" if "app" in url else "Nothing"')


def configure(repo: Path, current: str, current_share: str, prior: str, prior_share: str) -> None:
    edit_json(repo / "use_cases/mini/configs/deployment_config.json", lambda d: d["local_endpoint"][0].update({
        "CURRENT_DEPLOYMENT_NAME": current, "CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION": current_share,
        "PRIOR_DEPLOYMENT_NAME": prior, "PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION": prior_share,
        "STICKY_SESSION_HEADER": "x-session-id"}))


@dataclass
class Scenario:
    repo: Path
    info: process.ServerInfo
    first_deploy: Done
    unswapped_deploy: Done  # v2 while the config still names blue as current
    traffic_after_unswapped: dict[str, int]
    second_deploy: Done

    @property
    def state(self) -> Path:
        return self.repo / ".llmops"

    def split(self, live: dict[str, int], mirror: dict[str, int] | None = None) -> None:
        endpoint_registry.set_split(self.state, "mini", Split(live, mirror or {}), "test")

    def traffic(self) -> tuple[dict[str, int], dict[str, int]]:
        status = json.loads(llmops(self.repo, "endpoint", "status", "-u", "mini", "-e", "dev", "--json").out)
        return status["traffic"], status["mirror"]


@pytest.fixture(scope="module")
def ab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    repo = tmp_path_factory.mktemp("ab")
    write_use_case(repo)
    configure(repo, "blue", "100", "", "")
    assert llmops(repo, "register-model", "-u", "mini", "-e", "dev").code == 0
    started = llmops(repo, "endpoint", "up", "-u", "mini", "-e", "dev", "--provider", "replay", "--seed", "7")
    assert started.code == 0, started.err
    try:
        first = llmops(repo, "deploy", "-u", "mini", "-e", "dev")
        assert first.code == 0, first.err
        classify = repo / "use_cases/mini/flows/standard/classify.py"
        classify.write_text(classify.read_text().replace(*V2_EDIT))
        assert "registered version 2" in llmops(repo, "register-model", "-u", "mini", "-e", "dev").out
        unswapped = llmops(repo, "deploy", "-u", "mini", "-e", "dev")
        status = llmops(repo, "endpoint", "status", "-u", "mini", "-e", "dev", "--json").out
        configure(repo, "green", "10", "blue", "90")
        second = llmops(repo, "deploy", "-u", "mini", "-e", "dev")
        assert second.code == 0, second.err
        info = process.running(repo / ".llmops", "mini")
        assert info is not None
        yield Scenario(repo, info, first, unswapped, json.loads(status)["traffic"], second)
    finally:
        process.stop(repo / ".llmops", "mini")


def send(url: str, bodies: list[dict], headers: list[dict[str, str]] | None = None,
         threads: int = 8) -> list[ScoreReply]:
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda i: score(url, bodies[i], headers=(headers or [{}] * len(bodies))[i]),
                             range(len(bodies))))


def test_deploy_v1_takes_all_then_v2_takes_its_share(ab: Scenario) -> None:
    assert "traffic: blue=100\n" in ab.first_deploy.out
    assert ab.second_deploy.out.splitlines() == [
        "deployment green on endpoint mini: model mini_dev version 2, variant defaults (defaults: no report yet)",
        ab.second_deploy.out.splitlines()[1],
        "traffic: blue=90,green=10",
    ]
    assert ab.second_deploy.out.splitlines()[1].startswith("smoke test sample-request.json: status 200 on green")


def test_a_new_release_never_replaces_the_deployment_that_serves_users(ab: Scenario) -> None:
    assert ab.unswapped_deploy.code == 1
    assert ab.unswapped_deploy.err.strip() == (
        "error: use_cases/mini/configs/deployment_config.json: local_endpoint for env 'dev': deployment 'blue' "
        "serves model mini_dev version 1 to users (blue=100), and a new release must start at 0% beside it. "
        "Alternate the names for this release: set CURRENT_DEPLOYMENT_NAME to 'green' and PRIOR_DEPLOYMENT_NAME "
        "to 'blue'")
    assert ab.traffic_after_unswapped == {"blue": 100}


def test_2000_requests_split_90_10(ab: Scenario) -> None:
    ab.split({"blue": 90, "green": 10})
    bodies = [{"url": f"https://apps.example.com/{i}"} for i in range(2000)]
    replies = send(ab.info.scoring_url, bodies)
    assert all(r.status == 200 for r in replies)
    served = Counter(r.deployment for r in replies)
    share = served["green"] / len(replies)
    print(f"\n2,000 requests: blue {served['blue']}, green {served['green']} -> green share {share:.2%}")
    assert set(served) == {"blue", "green"} and 0.08 <= share <= 0.12
    # Each deployment runs its own model version.
    assert {r.body["category"] for r in replies if r.deployment == "blue"} == {"App"}
    assert {r.body["category"] for r in replies if r.deployment == "green"} == {"Application"}


def test_sticky_key_stays_put(ab: Scenario) -> None:
    ab.split({"blue": 90, "green": 10})
    keys = [f"user-{i}" for i in range(60)]
    bodies = [{"url": "https://apps.example.com/s"} for _ in keys for _ in range(5)]
    headers = [{"x-session-id": key} for key in keys for _ in range(5)]
    replies = send(ab.info.scoring_url, bodies, headers)
    by_key: dict[str, set[str | None]] = {}
    for header, reply in zip(headers, replies, strict=True):
        by_key.setdefault(header["x-session-id"], set()).add(reply.deployment)
    assert all(len(deployments) == 1 for deployments in by_key.values())
    assert {d for ds in by_key.values() for d in ds} == {"blue", "green"}  # keys spread over both


def test_forced_header_reaches_a_deployment_without_traffic(ab: Scenario) -> None:
    ab.split({"blue": 100, "green": 0})
    reply = score(ab.info.scoring_url, {"url": "https://apps.example.com/f"}, deployment="green")
    assert (reply.status, reply.deployment, reply.body) == (200, "green", {"category": "Application"})


def test_failing_smoke_test_leaves_traffic_unchanged(ab: Scenario) -> None:
    ab.split({"blue": 90, "green": 10})
    classify = ab.repo / "use_cases/mini/flows/standard/classify.py"
    working = classify.read_text()
    classify.write_text(working.replace("    word =", '    raise ValueError("v3 is broken")\n    word ='))
    try:
        assert "registered version 3" in llmops(ab.repo, "register-model", "-u", "mini", "-e", "dev").out
        configure(ab.repo, "red", "10", "blue", "90")
        done = llmops(ab.repo, "deploy", "-u", "mini", "-e", "dev")
    finally:
        classify.write_text(working)
        configure(ab.repo, "green", "10", "blue", "90")
    assert done.code == 1
    error = done.err.splitlines()[-1]
    assert error.startswith("error: smoke test of deployment 'red' (model mini_dev version 3) failed: "
                                  "sample-request.json: status 500 on red in ")
    assert "v3 is broken" in error
    assert error.endswith("; it was removed and traffic is unchanged (blue=90,green=10)")
    assert ab.traffic() == ({"blue": 90, "green": 10}, {})
    status, health = get_json(ab.info.health_url)
    assert sorted(health["deployments"]) == ["blue", "green"]


def test_rollback_restores_the_previous_map(ab: Scenario) -> None:
    ab.split({"blue": 90, "green": 10})
    shifted = llmops(ab.repo, "endpoint", "traffic", "-u", "mini", "-e", "dev", "--set", "blue=50,green=50")
    assert shifted.out == "traffic: blue=50,green=50\n"
    assert get_json(ab.info.health_url)[1]["deployments"]["green"]["traffic"] == 50  # live without restart
    rolled = llmops(ab.repo, "endpoint", "rollback", "-u", "mini", "-e", "dev")
    assert rolled.code == 0 and rolled.out == "rolled back: blue=50,green=50 -> blue=90,green=10\n"
    assert ab.traffic() == ({"blue": 90, "green": 10}, {})
    assert get_json(ab.info.health_url)[1]["deployments"]["green"]["traffic"] == 10
    invalid = llmops(ab.repo, "endpoint", "traffic", "-u", "mini", "-e", "dev", "--set", "blue=90,green=20")
    assert invalid.code == 1 and invalid.err == (
        "error: traffic map 'blue=90,green=20' for endpoint 'mini' is not valid: live shares must sum to 100, got 110 "
        "(blue=90,green=20); nothing was changed\n")


def test_mirrored_outputs_are_logged_and_never_returned(ab: Scenario) -> None:
    done = llmops(ab.repo, "endpoint", "traffic", "-u", "mini", "-e", "dev", "--set", "blue=100,green=0",
                  "--mirror", "green=50")
    assert done.out == "traffic: blue=100,green=0; mirror green=50\n"
    marker = f"https://apps.example.com/mirror-{time.time_ns()}"
    replies = send(ab.info.scoring_url, [{"url": f"{marker}/{i}"} for i in range(100)])
    assert {(r.status, r.deployment, r.body["category"]) for r in replies} == {(200, "blue", "App")}
    log = ab.state / "endpoints/mini/production_log.jsonl"
    deadline = time.monotonic() + 30
    while True:  # shadow copies run after the live answer; wait for them to land
        ours = [e for e in read_entries(log) if str(e["inputs"].get("url", "")).startswith(marker)]
        mirrored = [e for e in ours if e["mirror"]]
        if len(ours) - len(mirrored) == 100 and (len(mirrored) >= 30 or time.monotonic() > deadline):
            break
        time.sleep(0.2)
    assert 30 <= len(mirrored) <= 70
    assert {(e["deployment"], e["status"], e["outputs"]["category"]) for e in mirrored} == {
        (green := "green", 200, "Application")} and green
    assert {e["deployment"] for e in ours if not e["mirror"]} == {"blue"}
    ab.split({"blue": 90, "green": 10})
    mirror_to_live = llmops(ab.repo, "endpoint", "traffic", "-u", "mini", "-e", "dev", "--mirror", "green=10")
    assert mirror_to_live.code == 1 and "mirror only to a deployment that takes no live traffic" in (
        mirror_to_live.err)


def test_zero_failed_requests_while_traffic_shifts_and_rolls_back(ab: Scenario) -> None:
    ab.split({"blue": 90, "green": 10})
    stop = threading.Event()
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def client(worker: int) -> None:
        n = 0
        while not stop.is_set() and n < 5_000:  # bounded even if the shifting never ends
            n += 1
            try:
                reply = score(ab.info.scoring_url, {"url": f"https://apps.example.com/load-{worker}-{n}"}, timeout=60)
                outcome = "ok" if reply.status == 200 and reply.body.get("category") else f"status {reply.status}"
            except OSError as error:
                outcome = f"{type(error).__name__}"
            with lock:
                outcomes[outcome] += 1

    workers = [threading.Thread(target=client, args=(w,)) for w in range(6)]
    for worker in workers:
        worker.start()
    shifts = ["blue=50,green=50", "blue=0,green=100", "blue=100,green=0", "blue=20,green=80"]
    try:
        for live in shifts:
            assert llmops(ab.repo, "endpoint", "traffic", "-u", "mini", "-e", "dev", "--set", live).code == 0
            assert llmops(ab.repo, "endpoint", "rollback", "-u", "mini", "-e", "dev").code == 0
            assert llmops(ab.repo, "endpoint", "traffic", "-u", "mini", "-e", "dev", "--set", live).code == 0
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=120)
    total = sum(outcomes.values())
    failed = total - outcomes["ok"]
    print(f"\nload loop: {total} requests during {3 * len(shifts)} traffic changes, {failed} failed")
    assert failed == 0, outcomes
    assert total >= 100
