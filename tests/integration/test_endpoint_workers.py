"""The endpoint server with two worker processes on one socket (llmops/serving/workers.py), started as `llmops
endpoint up` starts it: both workers answer, each logs what it served and the readers see every request once,
a 1,000-request split holds across them, SIGTERM loses no answered request, and with an LLM flow the bound on
requests in flight and the gateway's bound per upstream hold for the server as a whole."""

from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from llmops.config.use_case import load_use_case
from llmops.config.workspace import Workspace
from llmops.serving import process
from llmops.serving.canary_answers import ProductionLogAnswers
from llmops.serving.client import ScoreReply, score
from llmops.serving.production_log import flatten, log_path, read_entries, worker_log, writer_entries
from llmops.steps.deploy import deploy, endpoint_up
from llmops.steps.register_model import register_model
from tests.support.llm_use_case import ClassifyingUpstream, write_llm_use_case
from tests.support.mini_use_case import edit_json, write_use_case

pytestmark = pytest.mark.timeout(300)
CLASSIFY_V2 = ('word = "App" if "app" in url else "None"', 'word = "Application" if "app" in url else "Nothing"')


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return sorted(found)


def local_endpoint(repo: Path, **settings: object) -> None:
    edit_json(repo / "use_cases/mini/configs/deployment_config.json",
              lambda d: d["local_endpoint"][0].update(settings))


@dataclass
class TwoWorkers:
    workspace: Workspace
    info: process.ServerInfo

    @property
    def log(self) -> Path:
        return log_path(self.workspace.state_dir, "mini")

    def send(self, marker: str, count: int, clients: int = 8) -> list[ScoreReply]:
        with ThreadPoolExecutor(clients) as pool:  # a connection per request: the kernel spreads them over workers
            return list(pool.map(lambda i: score(self.info.scoring_url, {"url": f"https://apps.{marker}/{i}"},
                                                 timeout=60), range(count)))

    def logged(self, marker: str) -> list[dict]:
        return [e for e in read_entries(self.log) if marker in str((e.get("inputs") or {}).get("url", ""))]


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoWorkers]:
    """v1 as blue, v2 as green, split 70/30, on an endpoint of WORKERS 2."""
    repo = tmp_path_factory.mktemp("workers")
    write_use_case(repo)
    local_endpoint(repo, CURRENT_DEPLOYMENT_NAME="blue", CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION="100",
                   PRIOR_DEPLOYMENT_NAME="", PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION="", WORKERS=2)
    workspace = Workspace(repo, repo / ".llmops", repo / "reports")
    use_case = load_use_case(workspace, "mini")
    register_model(workspace, use_case, "dev")
    info = endpoint_up(workspace, use_case, "dev", "replay").server
    try:
        deploy(workspace, use_case, "dev")
        classify = repo / "use_cases/mini/flows/standard/classify.py"
        classify.write_text(classify.read_text().replace(*CLASSIFY_V2))
        local_endpoint(repo, CURRENT_DEPLOYMENT_NAME="green", CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION="30",
                       PRIOR_DEPLOYMENT_NAME="blue", PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION="70")
        use_case = load_use_case(workspace, "mini")
        register_model(workspace, use_case, "dev")
        deploy(workspace, use_case, "dev")
        yield TwoWorkers(workspace, info)
    finally:
        process.stop(workspace.state_dir, "mini")


def test_both_workers_answer_and_every_request_is_logged_once(two: TwoWorkers) -> None:
    assert len(children(two.info.pid)) == 2  # the record names the parent; its two workers serve
    replies = two.send("once.example.com", 300)
    assert {r.status for r in replies} == {200}
    ids = [r.request_id for r in replies]
    logged = two.logged("once.example.com")
    assert sorted(e["request_id"] for e in logged) == sorted(ids)  # each exactly once, across the workers' files
    by_file = {n: [e for e in writer_entries(worker_log(two.log, n)) if "once.example.com" in e["inputs"]["url"]]
               for n in (0, 1)}
    assert all(by_file.values()), {n: len(v) for n, v in by_file.items()}  # both workers served
    assert [e["timestamp"] for e in logged] == sorted(e["timestamp"] for e in logged)  # merged oldest first


def test_post_prod_eval_and_canary_readers_see_every_worker(two: TwoWorkers) -> None:
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))
    replies = two.send("readers.example.com", 60)
    answered = [a for a in ProductionLogAnswers(two.log).answered_since(since) if "readers." in a.inputs["url"]]
    assert sorted(a.request_id for a in answered) == sorted(r.request_id for r in replies)
    rows = [r for r in flatten(read_entries(two.log)) if "readers." in r["url"]]  # what post-prod-eval registers
    assert len(rows) == 60 and {r["deployment"] for r in rows} == {"blue", "green"}


def test_a_1000_request_split_holds_across_workers(two: TwoWorkers) -> None:
    replies = two.send("split.example.com", 1000, clients=16)
    shares = Counter(r.deployment for r in replies)
    assert abs(shares["green"] / 10 - 30) <= 3, shares
    per_worker = {n: Counter(e["deployment"] for e in writer_entries(worker_log(two.log, n))
                             if "split.example.com" in e["inputs"]["url"]) for n in (0, 1)}
    assert sum(sum(c.values()) for c in per_worker.values()) == 1000 and all(per_worker.values()), per_worker


def test_a_worker_that_dies_is_started_again(two: TwoWorkers) -> None:
    first = children(two.info.pid)
    os.kill(first[0], signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = children(two.info.pid)
        if len(now) == 2 and first[0] not in now and process.ready(two.info):  # readiness waits for the new one
            break
        time.sleep(0.1)
    assert len(now) == 2 and first[1] in now and first[0] not in now
    assert {r.status for r in two.send("restarted.example.com", 100)} == {200}
    assert "died with signal SIGKILL; starting it again" in Path(two.info.server_log).read_text()


def test_sigterm_stops_the_workers_and_loses_no_answered_request(two: TwoWorkers) -> None:
    workers = children(two.info.pid)
    answered: list[str] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                reply = score(two.info.scoring_url, {"url": "https://apps.sigterm.example.com/x"}, timeout=10)
            except OSError:
                continue  # refused once the workers stopped accepting
            if reply.status == 200:
                answered.append(str(reply.request_id))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    try:
        assert process.stop(two.workspace.state_dir, "mini") is not None
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert len(answered) > 10
    assert not any(Path(f"/proc/{pid}").exists() for pid in (two.info.pid, *workers))
    assert set(answered) <= {e["request_id"] for e in two.logged("sigterm.example.com")}
    for file in (worker_log(two.log, 0), worker_log(two.log, 1)):
        assert file.read_bytes().endswith(b"\n")  # each worker closed its log whole


def post(port: int, url: str) -> tuple[int, dict[str, str], object]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/score", body=json.dumps({"url": url}), headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(response.read())
    finally:
        conn.close()


def test_in_flight_bound_and_one_gateway_hold_across_two_workers(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """4 requests in flight for the server (2 per worker), 2 LLM calls at once per upstream (CONCURRENCY): past
    them 503 with Retry-After, and the upstream never sees more than 2 calls while it holds them."""
    monkeypatch.setenv("LLMOPS_WORKERS", "2")
    monkeypatch.setenv("LLMOPS_ENDPOINT_MAX_IN_FLIGHT", "4")
    with ClassifyingUpstream(down=False) as upstream:
        write_llm_use_case(tmp_path, upstream)
        edit_json(tmp_path / "use_cases/mini/llmops_config.json",
                  lambda d: [env.update({"CONCURRENCY": 2}) for env in d["envs"]])
        local_endpoint(tmp_path, CURRENT_DEPLOYMENT_NAME="blue", CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION="100",
                       PRIOR_DEPLOYMENT_NAME="", PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION="")
        workspace = Workspace(tmp_path, tmp_path / ".llmops", tmp_path / "reports")
        use_case = load_use_case(workspace, "mini")
        register_model(workspace, use_case, "dev")
        info = endpoint_up(workspace, use_case, "dev", "openai_compatible").server
        try:
            deploy(workspace, use_case, "dev")  # its smoke test's call goes through a worker's route
            assert len(children(info.pid)) == 2
            upstream.gate.clear()
            waiting = upstream.arrived
            with ThreadPoolExecutor(12) as pool:
                answers = [pool.submit(post, info.port, f"https://apps.inflight.example.com/{i}") for i in range(12)]
                deadline = time.monotonic() + 60
                while sum(a.done() for a in answers) < 8 and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(0.5)  # any call past the gateway's bound would reach the upstream by now
                held = upstream.arrived - waiting
                upstream.gate.set()
                results = [a.result() for a in answers]
        finally:
            process.stop(workspace.state_dir, "mini")
    statuses = Counter(status for status, _, _ in results)
    assert held == 2, held  # one gateway for both workers: CONCURRENCY 2 calls at once, not 2 per worker
    assert 2 <= statuses[200] <= 4 and statuses[200] + statuses[503] == 12, statuses
    assert {h.get("retry-after") for s, h, _ in results if s == 503} == {"1"}
    assert {b["category"] for s, _, b in results if s == 200} == {"App"}  # type: ignore[index]
    with sqlite3.connect(workspace.state_dir / "llm_calls.sqlite") as db:  # the parent's one accounting
        accounted = db.execute("SELECT COUNT(*) FROM llm_calls WHERE run LIKE 'endpoint:mini:%'").fetchone()[0]
    assert accounted == len(upstream.requests)
