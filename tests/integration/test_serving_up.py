"""`llmops endpoint up`: a busy port is named, two at once start one server, and the endpoint's key comes from
.env (named by AUTH_KEY_VARIABLE), is required on POST /score, is sent by deploy and test-endpoint, and is written
nowhere."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmops.serving import process
from tests.support.cli import llmops
from tests.support.mini_use_case import edit_json, write_use_case

pytestmark = pytest.mark.timeout(300)
REPO = Path(__file__).resolve().parents[2]
KEY = "k3y-for-tests-0123456789abcdef"
UP = ("endpoint", "up", "-u", "mini", "-e", "dev", "--provider", "replay")


NO_KEY = {"MINI_ENDPOINT_KEY": None}  # the key comes from the test's .env, not the developer's shell


def command(repo: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "llmops", "--root", str(repo), *args]


def environment() -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k != "MINI_ENDPOINT_KEY"}, "PYTHONPATH": str(REPO)}


@pytest.fixture()
def repo(tmp_path: Path) -> Iterator[Path]:
    write_use_case(tmp_path)
    edit_json(tmp_path / "use_cases/mini/configs/deployment_config.json", lambda d: d["local_endpoint"][0].update(
        {"CURRENT_DEPLOYMENT_NAME": "blue", "CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION": "100",
         "PRIOR_DEPLOYMENT_NAME": "", "PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION": ""}))
    yield tmp_path
    process.stop(tmp_path / ".llmops", "mini")


def test_a_busy_port_is_named_with_the_process_that_holds_it(repo: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = llmops(repo, *UP, "--port", str(port), env=NO_KEY)
    assert (done.code, done.out, done.err) == (1, "", (
        f"error: port {port} on 127.0.0.1 is in use (by pid {os.getpid()}); choose another with --port or stop it\n"))
    assert process.running(repo / ".llmops", "mini") is None


def test_two_at_once_start_one_server_and_both_name_it(repo: Path) -> None:
    # Two processes: the test is about two commands racing for one endpoint.
    started = time.monotonic()
    both = [subprocess.Popen(command(repo, *UP), env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outputs = [proc.communicate(timeout=240) for proc in both]
    print(f"\ntwo endpoint up at once: both done in {time.monotonic() - started:.1f} s")
    assert [proc.returncode for proc in both] == [0, 0], outputs
    info = process.running(repo / ".llmops", "mini")
    assert info is not None
    firsts = sorted(out.splitlines()[0] for out, _ in outputs)
    assert firsts == [f"endpoint mini: already running at {info.url} (pid {info.pid}, provider replay)",
                      f"endpoint mini: started at {info.url} (pid {info.pid}, provider replay)"]
    assert Path(info.server_log).read_text().count("endpoint mini listening on") == 1


def with_key(repo: Path, variable: str = "MINI_ENDPOINT_KEY") -> None:
    edit_json(repo / "use_cases/mini/configs/deployment_config.json",
              lambda d: d["local_endpoint"][0].update({"AUTH_KEY_VARIABLE": variable}))


def post(port: int, headers: dict[str, str]) -> tuple[int, dict[str, str], object]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/score", body=json.dumps({"url": "https://apps.example.com/k"}),
                     headers={"Content-Type": "application/json", **headers})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(response.read())
    finally:
        conn.close()


NEEDS_KEY = {"error": {"message": "endpoint 'mini' needs its key: send the header Authorization: Bearer <key>, where "
                                  "the key is the value of MINI_ENDPOINT_KEY (.env or environment)"}}


def test_the_key_from_env_file_guards_score_and_is_sent_by_deploy_and_test_endpoint(repo: Path) -> None:
    with_key(repo)
    (repo / ".env").write_text(f"MINI_ENDPOINT_KEY={KEY}\n")
    for step in (["register-model"], ["endpoint", "up", "--provider", "replay"], ["deploy"], ["test-endpoint"]):
        done = llmops(repo, *step, "-u", "mini", "-e", "dev", env=NO_KEY)
        assert done.code == 0, done.err  # deploy's smoke test and test-endpoint sent the key
    info = process.running(repo / ".llmops", "mini")
    assert info is not None
    for headers, status in [({}, 401), ({"Authorization": "Bearer wrong-key-0123456789abcdef"}, 401),
                            ({"Authorization": KEY}, 401), ({"Authorization": f"Basic {KEY}"}, 401),
                            ({"Authorization": f"Bearer {KEY}"}, 200), ({"Authorization": f"bearer  {KEY} "}, 200)]:
        got, answer_headers, body = post(info.port, headers)
        assert (got, body if got == 401 else None) == (status, NEEDS_KEY if status == 401 else None), headers
        assert answer_headers.get("www-authenticate") == ("Bearer" if status == 401 else None)
    # Written nowhere: not in the server's record, its command line, server.log or the production log; and a
    # caller without the key left no entry.
    endpoints = repo / ".llmops/endpoints"
    for file in [*endpoints.glob("*.json"), *endpoints.glob("mini/*")]:
        assert KEY not in file.read_text(errors="replace"), file
    assert KEY not in Path(f"/proc/{info.pid}/cmdline").read_text() if Path("/proc").is_dir() else True
    statuses = [json.loads(line)["status"] for line in (endpoints / "mini/production_log.jsonl").read_text()
                .splitlines()]
    assert 401 not in statuses and statuses.count(200) >= 3


@pytest.mark.parametrize(("env_line", "message"), [
    ("", "error: use_cases/mini/configs/deployment_config.json: local_endpoint for env 'dev' has AUTH_KEY_VARIABLE "
         "'MINI_ENDPOINT_KEY', but MINI_ENDPOINT_KEY is set neither in the environment nor in {env}; add a line "
         "MINI_ENDPOINT_KEY=<key> to .env (make a key with: python -c \"import secrets; "
         "print(secrets.token_urlsafe(32))\")\n"),
    ("MINI_ENDPOINT_KEY=short\n", "error: use_cases/mini/configs/deployment_config.json: local_endpoint for env 'dev' "
     "has AUTH_KEY_VARIABLE 'MINI_ENDPOINT_KEY': the value of MINI_ENDPOINT_KEY must be at least 16 printable ASCII "
     "characters without spaces, so it can be sent in a header and not guessed; make one with: python -c \"import "
     "secrets; print(secrets.token_urlsafe(32))\"\n"),
])
def test_a_key_that_is_missing_or_weak_is_refused_before_a_server_starts(repo: Path, env_line: str,
                                                                        message: str) -> None:
    with_key(repo)
    (repo / ".env").write_text(env_line)
    done = llmops(repo, *UP, env=NO_KEY)
    assert (done.code, done.err) == (1, message.format(env=repo / ".env"))
    assert process.running(repo / ".llmops", "mini") is None


def test_the_key_variable_must_be_a_name_not_a_key(repo: Path) -> None:
    with_key(repo, "sk-live/abc=")
    done = llmops(repo, *UP, env=NO_KEY)
    assert done.code == 1
    assert "local_endpoint[0].AUTH_KEY_VARIABLE: must be the name of a variable, such as ENDPOINT_KEY (letters, " \
           "digits and _), got 12 characters that are not one; the key itself goes in .env" in done.err
