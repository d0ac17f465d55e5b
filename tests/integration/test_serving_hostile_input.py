"""Hostile requests to a real endpoint on loopback: each gets its status and a JSON error that says what to
change; nothing reaches a 500 but a failing flow, whose answer names a request id and no server path."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmops.serving import process
from llmops.serving.production_log import read_entries
from tests.support.cli import llmops
from tests.support.mini_use_case import edit_json, write_use_case

pytestmark = pytest.mark.timeout(300)
MiB = 1024 * 1024

# The standard flow takes one input of each type prompt flow declares; only `url` is required.
TYPED_INPUTS = """\
inputs:
  url: {type: string}
  n: {type: int, default: 1}
  score: {type: double, default: 0.5}
  flag: {type: bool, default: false}
  tags: {type: list, default: []}
  meta: {type: object, default: {}}
"""
BOOM = '    if "boom" in url:\n        raise RuntimeError(f"boom at {__file__}")\n    word = "App"'


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, process.ServerInfo]]:
    repo = tmp_path_factory.mktemp("hostile")
    flow = write_use_case(repo) / "flows/standard"
    dag = flow / "flow.dag.yaml"
    dag.write_text(dag.read_text().replace("inputs:\n  url:\n    type: string\n", TYPED_INPUTS))
    classify = flow / "classify.py"
    classify.write_text(classify.read_text().replace('    word = "App"', BOOM))
    edit_json(repo / "use_cases/mini/configs/deployment_config.json", lambda d: d["local_endpoint"][0].update(
        {"CURRENT_DEPLOYMENT_NAME": "blue", "CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION": "100",
         "PRIOR_DEPLOYMENT_NAME": "", "PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION": ""}))
    try:
        for step in (["register-model"], ["endpoint", "up", "--provider", "replay"], ["deploy"]):
            done = llmops(repo, *step, "-u", "mini", "-e", "dev")
            assert done.code == 0, done.err
        info = process.running(repo / ".llmops", "mini")
        assert info is not None
        yield repo, info
    finally:
        process.stop(repo / ".llmops", "mini")


def post(port: int, body: bytes | Any, headers: dict[str, str] | None = None,
         path: str = "/score") -> tuple[int, dict[str, str], Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        # A generator body goes chunk-encoded (a bytes body with Transfer-Encoding: chunked goes as it is).
        conn.request("POST", path, body=body, headers=headers or {}, encode_chunked=not isinstance(body, bytes))
        response = conn.getresponse()
        raw = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(raw)
    finally:
        conn.close()


JSON = {"Content-Type": "application/json"}
LIMIT = ("the request body is larger than this endpoint's limit of 1048576 bytes; send less, or raise "
         "MAX_REQUEST_BODY_BYTES of the local_endpoint in deployment_config.json")


def chunks(total: int) -> Iterator[bytes]:
    for _ in range(total // 65536):
        yield b" " * 65536


@pytest.mark.parametrize(("body", "headers", "status", "message"), [
    # A page the user opens can POST text/plain across sites without asking; JSON it cannot.
    (b'{"url": "https://apps.example.com/x"}', {"Content-Type": "text/plain"}, 415,
     "POST /score takes a JSON body: send the header Content-Type: application/json (got 'text/plain')"),
    (b'{"url": "https://apps.example.com/x"}', {}, 415,
     "POST /score takes a JSON body: send the header Content-Type: application/json (got none)"),
    (b" " * (50 * MiB), JSON, 413, LIMIT),
    (chunks(2 * MiB), {**JSON, "Transfer-Encoding": "chunked"}, 413, LIMIT),
    (b" " * (2 * MiB), {**JSON, "Transfer-Encoding": "chunked"}, 400,
     "the request is not valid HTTP/1.1 (Invalid character in chunk size)"),
    (b"not json", JSON, 400, "the request body is not JSON (Expecting value: line 1 column 1 (char 0)); send the "
                             "flow inputs as a JSON object"),
    (b"[" * 100_000 + b"]" * 100_000, JSON, 400,
     "the request body nests arrays and objects deeper than 64 levels; send flatter inputs"),
    (json.dumps({"url": "x", "meta": {"a": json.loads("[" * 70 + "]" * 70)}}).encode(), JSON, 400,
     "the request body nests arrays and objects deeper than 64 levels; send flatter inputs"),
    (json.dumps([1, 2]).encode(), JSON, 400, "the request body must be a JSON object of flow inputs, got list"),
    (json.dumps({}).encode(), JSON, 400, "missing input(s) 'url'; deployment 'blue' needs: url"),
    (json.dumps({"url": 123}).encode(), JSON, 400, "input 'url' must be string, got int 123"),
    (json.dumps({"url": "x", "n": "3"}).encode(), JSON, 400, "input 'n' must be int, got string \"3\""),
    (json.dumps({"url": "x", "n": True}).encode(), JSON, 400, "input 'n' must be int, got bool true"),
    (json.dumps({"url": "x", "n": 1.5}).encode(), JSON, 400, "input 'n' must be int, got double 1.5"),
    (json.dumps({"url": "x", "score": "high"}).encode(), JSON, 400,
     "input 'score' must be double, got string \"high\""),
    (json.dumps({"url": "x", "flag": "yes"}).encode(), JSON, 400, "input 'flag' must be bool, got string \"yes\""),
    (json.dumps({"url": "x", "tags": {"a": 1}}).encode(), JSON, 400,
     "input 'tags' must be list, got object {\"a\": 1}"),
    (json.dumps({"url": "x", "meta": None}).encode(), JSON, 400, "input 'meta' must be object, got null"),
    (json.dumps({"n": "3", "tags": "x" * 100}).encode(), JSON, 400,
     "missing input(s) 'url'; deployment 'blue' needs: url; input 'n' must be int, got string \"3\"; input 'tags' "
     "must be list, got string \"" + "x" * 39 + "..."),
])
def test_hostile_requests_get_a_json_error_that_says_what_to_change(
        served: tuple[Path, process.ServerInfo], body: Any, headers: dict[str, str], status: int,
        message: str) -> None:
    _, info = served
    got, _, payload = post(info.port, body, headers)
    assert (got, payload) == (status, {"error": {"message": message}})


@pytest.mark.parametrize(("inputs", "category"), [
    ({"url": "https://apps.example.com/typed", "n": 2, "score": 1, "flag": True, "tags": ["a"], "meta": {"k": [1]}},
     "App"),
    ({"url": "https://example.com/" + "a" * (MiB - 40)}, "None"),  # the body is exactly at the limit
])
def test_valid_requests_are_answered(served: tuple[Path, process.ServerInfo], inputs: dict[str, Any],
                                     category: str) -> None:
    _, info = served
    body = json.dumps(inputs).encode()
    body += b" " * max(0, MiB - len(body)) if len(body) > MiB // 2 else b""
    got, _, payload = post(info.port, body, {"Content-Type": "application/json; charset=utf-8"})
    assert (got, payload) == (200, {"category": category})


def test_a_lone_surrogate_is_answered_and_logged(served: tuple[Path, process.ServerInfo]) -> None:
    repo, info = served
    got, _, payload = post(info.port, b'{"url": "https://apps.example.com/lone-\\ud800"}', JSON)
    assert (got, payload) == (200, {"category": "App"})
    logged = [e for e in read_entries(repo / ".llmops/endpoints/mini/production_log.jsonl")
              if isinstance(e["inputs"], dict) and str(e["inputs"].get("url")).startswith("https://apps.example.com/lone-")]
    assert [(e["status"], e["inputs"]["url"]) for e in logged] == [(200, "https://apps.example.com/lone-\ufffd")]


def test_a_huge_request_takes_one_bounded_log_entry(served: tuple[Path, process.ServerInfo]) -> None:
    repo, info = served
    inputs = {"url": "https://apps.example.com/huge", "meta": {"text": "t" * 900_000}}
    assert post(info.port, json.dumps(inputs).encode(), JSON)[0] == 200
    entry = next(e for e in read_entries(repo / ".llmops/endpoints/mini/production_log.jsonl")
                 if isinstance(e["inputs"], dict) and e["inputs"].get("url") == "https://apps.example.com/huge")
    assert entry["truncated"] == {"inputs": len(json.dumps(inputs))} and len(json.dumps(entry)) < 40_000


def test_a_failing_flow_answers_500_with_a_request_id_and_no_server_path(
        served: tuple[Path, process.ServerInfo]) -> None:
    repo, info = served
    got, headers, payload = post(info.port, json.dumps({"url": "https://apps.example.com/boom"}).encode(), JSON)
    request_id = headers["x-request-id"]
    assert (got, payload) == (500, {"error": {
        "message": f"deployment 'blue' failed on this request; see request id {request_id} in the endpoint's "
                   "server.log", "request_id": request_id}})
    logged = [line for line in Path(info.server_log).read_text().splitlines() if request_id in line]
    assert len(logged) == 1 and "boom at " + str(repo) in logged[0]


def test_every_answer_names_its_request_id(served: tuple[Path, process.ServerInfo]) -> None:
    _, info = served
    ids = {post(info.port, b"{}", JSON)[1]["x-request-id"] for _ in range(3)}
    assert len(ids) == 3 and all(len(i) == 16 for i in ids)
