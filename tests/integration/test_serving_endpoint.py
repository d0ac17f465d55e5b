"""The local endpoint server on loopback: lifecycle, the pf-flow-serve request shape, errors, production log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmops.serving import process
from llmops.serving.client import get_json, score
from llmops.serving.production_log import ProductionLog, log_files, make_entry, read_entries
from tests.support.cli import llmops
from tests.support.mini_use_case import edit_json, write_use_case

pytestmark = pytest.mark.timeout(300)
ENDPOINT = "mini"


def single_deployment(data: dict) -> None:
    data["local_endpoint"][0].update({"CURRENT_DEPLOYMENT_NAME": "blue", "CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION": "100",
                                      "PRIOR_DEPLOYMENT_NAME": "", "PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION": "",
                                      "STICKY_SESSION_HEADER": "x-session-id"})


@pytest.fixture()
def repo(tmp_path: Path) -> Iterator[Path]:
    write_use_case(tmp_path)
    edit_json(tmp_path / "use_cases/mini/configs/deployment_config.json", single_deployment)
    yield tmp_path
    process.stop(tmp_path / ".llmops", ENDPOINT)


def up(repo: Path, *extra: str) -> process.ServerInfo:
    done = llmops(repo, "endpoint", "up", "-u", "mini", "-e", "dev", "--provider", "replay", *extra)
    assert done.code == 0, done.err
    info = process.running(repo / ".llmops", ENDPOINT)
    assert info is not None
    return info


def deployed(repo: Path, *extra: str) -> process.ServerInfo:
    assert llmops(repo, "register-model", "-u", "mini", "-e", "dev").code == 0
    info = up(repo, *extra)
    done = llmops(repo, "deploy", "-u", "mini", "-e", "dev", "--target", "local")
    assert done.code == 0, done.err
    return info


def test_lifecycle_up_status_down(repo: Path) -> None:
    started = llmops(repo, "endpoint", "up", "-u", "mini", "-e", "dev", "--provider", "replay")
    assert started.code == 0, started.err
    assert started.out.startswith("endpoint mini: started at http://127.0.0.1:")
    again = llmops(repo, "endpoint", "up", "-u", "mini", "-e", "dev", "--provider", "replay")
    assert again.out.startswith("endpoint mini: already running at http://127.0.0.1:")
    status = json.loads(llmops(repo, "endpoint", "status", "-u", "mini", "-e", "dev", "--json").out)
    assert (status["running"], status["healthy"], status["provider"], status["deployments"]) == (
        True, True, "replay", [])
    assert status["scoring_url"].startswith("http://127.0.0.1:") and status["scoring_url"].endswith("/score")
    reply = score(status["scoring_url"], {"url": "https://apps.example.com/x"})
    assert (reply.status, reply.body) == (503, {"error": {"message": (
        "no deployment of endpoint 'mini' takes traffic; deploy one with llmops deploy, or set traffic with "
        "llmops endpoint traffic --set")}})
    stopped = llmops(repo, "endpoint", "down", "-u", "mini", "-e", "dev")
    assert stopped.code == 0 and stopped.out.startswith(f"endpoint stopped (pid {status['pid']})")
    assert not process.info_path(repo / ".llmops", ENDPOINT).exists()
    assert llmops(repo, "endpoint", "status", "-u", "mini", "-e", "dev").out.startswith("endpoint mini: not running")
    assert llmops(repo, "endpoint", "down", "-u", "mini", "-e", "dev").out == "endpoint was not running\n"


def test_traffic_set_on_a_stopped_endpoint_says_when_it_applies(repo: Path) -> None:
    info = deployed(repo)  # blue=100
    assert llmops(repo, "endpoint", "down", "-u", "mini", "-e", "dev").code == 0
    done = llmops(repo, "endpoint", "traffic", "-u", "mini", "-e", "dev", "--set", "blue=100")
    assert done.code == 0 and done.out == (
        "traffic: blue=100\n"
        "note: the endpoint is not running; this map applies when it starts (llmops endpoint up --use-case mini "
        "--env dev)\n")
    restarted = up(repo)
    assert restarted.pid != info.pid
    assert score(restarted.scoring_url, {"url": "https://apps.example.com/x"}).deployment == "blue"


def test_deploy_needs_a_model_and_a_running_endpoint(repo: Path) -> None:
    done = llmops(repo, "deploy", "-u", "mini", "-e", "dev")
    assert done.code == 1
    assert done.err == ("error: endpoint 'mini' is not running; start it with: llmops endpoint up --use-case mini "
                        "--env dev\n")
    up(repo)
    done = llmops(repo, "deploy", "-u", "mini", "-e", "dev")
    assert done.code == 1
    assert done.err == ("error: unknown model 'mini_dev'; valid: (none). Register it with: llmops register-model "
                        "--use-case <name> --env <env> (a model is named <use_case>_<env>)\n")
    assert llmops(repo, "deploy", "-u", "mini", "-e", "dev", "--target", "kubernetes").err == (
        "error: use_cases/mini/configs/deployment_config.json has no kubernetes_endpoint block for env 'dev' with "
        "ENDPOINT_NAME and CURRENT_DEPLOYMENT_NAME; add one (the README's Azure deployment section shows one)\n")
    unknown = llmops(repo, "deploy", "-u", "mini", "-e", "dev", "--target", "kubernetes_endpoint")
    assert unknown.code == 2 and "argument --target: invalid choice: 'kubernetes_endpoint' (choose from 'auto', " \
        "'local', 'azure_managed', 'kubernetes', 'webapp')" in unknown.err


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[process.ServerInfo]:
    """One deployed endpoint for the tests that only send requests."""
    root = tmp_path_factory.mktemp("served")
    write_use_case(root)
    edit_json(root / "use_cases/mini/configs/deployment_config.json", single_deployment)
    try:
        yield deployed(root)
    finally:
        process.stop(root / ".llmops", ENDPOINT)


def test_score_answers_like_pf_flow_serve(served: process.ServerInfo) -> None:
    info = served
    reply = score(info.scoring_url, {"url": "https://apps.example.com/x"})
    assert (reply.status, reply.deployment, reply.body) == (200, "blue", {"category": "App"})
    forced = score(info.scoring_url, {"url": "https://example.com/y"}, deployment="blue")
    assert (forced.status, forced.deployment, forced.body) == (200, "blue", {"category": "None"})
    status, health = get_json(info.health_url)
    assert status == 200 and health["status"] == "healthy"
    assert health["deployments"] == {"blue": {"model": "mini_dev", "model_version": 1, "variant": "defaults",
                                              "traffic": 100, "mirror": 0, "error": None}}


@pytest.mark.parametrize(("body", "headers", "status", "message"), [
    ({}, {}, 400, "missing input(s) 'url'; deployment 'blue' needs: url"),
    ([1, 2], {}, 400, "the request body must be a JSON object of flow inputs, got list"),
    ({"url": "x"}, {"azureml-model-deployment": "red"}, 404,
     "deployment 'red' not found on endpoint 'mini'; deployments: blue"),
])
def test_errors_are_json_with_the_right_status(served: process.ServerInfo, body: object, headers: dict[str, str],
                                               status: int, message: str) -> None:
    reply = score(served.scoring_url, body, headers=headers)
    assert (reply.status, reply.body) == (status, {"error": {"message": message}})


def test_other_errors(repo: Path) -> None:
    import http.client

    info = deployed(repo)
    conn = http.client.HTTPConnection("127.0.0.1", info.port, timeout=30)
    for method, path, body, status in [("POST", "/score", b"not json", 400), ("GET", "/score", None, 405),
                                       ("GET", "/nowhere", None, 404)]:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        payload = json.loads(response.read())
        assert response.status == status and set(payload) == {"error"}, payload
    conn.close()
    broken = repo / "use_cases/mini/flows/standard/classify.py"
    broken.write_text(broken.read_text().replace('    word = "App"',
                                                 '    raise RuntimeError("boom")\n    word = "App"'))
    assert llmops(repo, "register-model", "-u", "mini", "-e", "dev").code == 0
    edit_json(repo / "use_cases/mini/configs/deployment_config.json",
              lambda d: d["local_endpoint"][0].update({"CURRENT_DEPLOYMENT_NAME": "green"}))
    failed = llmops(repo, "deploy", "-u", "mini", "-e", "dev")
    assert failed.code == 1 and "failed on this request; see request id " in failed.err and "boom" in failed.err


def test_production_log_holds_requests_never_headers(repo: Path) -> None:
    info = deployed(repo)
    for i in range(3):
        assert score(info.scoring_url, {"url": f"https://apps.example.com/{i}"},
                     headers={"x-session-id": "session-secret", "Authorization": "Bearer sk-secret-key"}).status == 200
    score(info.scoring_url, {})
    path = repo / ".llmops/endpoints/mini/production_log.jsonl"
    text = path.read_text()
    assert "session-secret" not in text and "sk-secret-key" not in text
    entries = list(read_entries(path))
    # The deploy's smoke test is the first request the endpoint answered.
    assert [(e["deployment"], e["status"], e["inputs"], e["outputs"]) for e in entries] == [
        ("blue", 200, {"url": "https://apps.example.com/z"}, {"category": "App"}),
        *[("blue", 200, {"url": f"https://apps.example.com/{i}"}, {"category": "App"}) for i in range(3)],
        ("blue", 400, {}, {}),
    ]
    # Every entry names its request (a mirror copy has its request's id); the smoke test named its deployment and
    # is marked a probe (llmops testing the endpoint), the users' requests neither.
    assert all(set(e) - {"forced", "probe"} == {"timestamp", "endpoint", "deployment", "mirror", "latency_ms",
                                                "status", "inputs", "outputs", "request_id"}
               and e["endpoint"] == "mini" and e["mirror"] is False and e["latency_ms"] > 0
               and len(e["request_id"]) == 16 for e in entries)
    assert [(e.get("forced", False), e.get("probe", False)) for e in entries] == [
        (True, True), (False, False), (False, False), (False, False), (False, False)]


def test_production_log_rotates_by_size_on_a_running_endpoint(repo: Path) -> None:
    info = deployed(repo, "--log-max-bytes", "1000")
    for i in range(30):
        assert score(info.scoring_url, {"url": f"https://apps.example.com/{i:02d}"}).status == 200
    files = log_files(repo / ".llmops/endpoints/mini/production_log.jsonl")
    assert [f.name for f in files][-3:] == ["production_log.jsonl.2", "production_log.jsonl.1", "production_log.jsonl"]
    assert all(f.stat().st_size >= 1000 for f in files[:-1])
    urls = [e["inputs"]["url"] for e in read_entries(files[-1]) if e["status"] == 200]
    assert urls[-1] == "https://apps.example.com/29" and urls == sorted(urls)  # oldest first across files


def test_production_log_keeps_the_configured_backups(tmp_path: Path) -> None:
    log = ProductionLog(tmp_path / "production_log.jsonl", max_bytes=600, backups=2)
    for i in range(62):  # about 4 lines per file: the last file is open, not just rotated
        log.append(make_entry("e", "blue", False, 1.0, 200, {"i": i}, {"o": i}))
    log.close()
    files = log_files(tmp_path / "production_log.jsonl")
    assert [f.name for f in files] == ["production_log.jsonl.2", "production_log.jsonl.1", "production_log.jsonl"]
    kept = [e["inputs"]["i"] for e in read_entries(tmp_path / "production_log.jsonl")]
    assert kept == list(range(62 - len(kept), 62))  # the newest lines, in order; the oldest were dropped
    assert 6 <= len(kept) < 62


def test_test_endpoint_command(repo: Path) -> None:
    deployed(repo)
    done = llmops(repo, "test-endpoint", "-u", "mini", "-e", "dev", "--lines", "3")
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    assert lines[0].startswith("sample-request.json: status 200 on blue in ") and lines[0].endswith(" ms: ok")
    assert [line.split(":")[0] for line in lines[1:4]] == ["mini_dev line 0", "mini_dev line 1", "mini_dev line 2"]
    assert lines[4].startswith("4 of 4 requests ok (http://127.0.0.1:")
    (repo / "use_cases/mini/sample-request.json").write_text(json.dumps({"page": "x"}))
    failed = llmops(repo, "test-endpoint", "-u", "mini", "-e", "dev")
    assert failed.code == 1
    assert "0 of 1 requests ok" in failed.out
    assert failed.err.startswith("error: 1 of 1 endpoint requests failed: sample-request.json: status 400 on blue")
    assert "expected status 200, got 400: missing input(s) 'url'; deployment 'blue' needs: url" in failed.err


def test_cd_pipeline_registers_deploys_and_tests(repo: Path) -> None:
    from llmops.config.use_case import load_use_case
    from llmops.config.workspace import Workspace
    from llmops.pipelines import cd_pipeline

    workspace = Workspace(repo, repo / ".llmops", repo / "reports")
    use_case = load_use_case(workspace, "mini")
    first = cd_pipeline(workspace, use_case, "dev", provider="replay", test_lines=2)
    assert (first.model.model.version, first.model.model.changed, first.endpoint_started) == (1, True, True)
    assert first.deployment.traffic.split.live == {"blue": 100}
    assert [(c.name, c.ok, c.deployment) for c in first.endpoint_test.checks] == [
        ("sample-request.json", True, "blue"), ("mini_dev line 0", True, "blue"), ("mini_dev line 1", True, "blue")]
    again = cd_pipeline(workspace, use_case, "dev", provider="replay")
    assert (again.model.model.changed, again.endpoint_started, again.deployment.traffic.seq) == (
        False, False, first.deployment.traffic.seq)  # nothing changed, so no new traffic map either

