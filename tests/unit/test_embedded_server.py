"""Server records, refusals and speed arithmetic: everything about serving that needs no model file."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from llmops.errors import NotFoundError, UsageError
from llmops.llm.embedded.catalog import get_model
from llmops.llm.embedded.llama_server import ServerRecord, ensure_running, find_running, servers, stop
from llmops.llm.embedded.loopback import get_json
from llmops.llm.embedded.speed import SpeedMeasurement, measure_speed


def _record(pid: int, address: str = "http://127.0.0.1:9") -> ServerRecord:
    return ServerRecord(
        name="smollm2-135m", pid=pid, port=int(address.rsplit(":", 1)[1]), address=address,
        model_path="/nowhere/smollm2-135m.gguf", sha256=get_model("smollm2-135m").sha256, threads=2,
        context_tokens=4096, started_at="2026-01-01T00:00:00+00:00", startup_seconds=1.0,
        log_path="/nowhere.log",
    )


def test_starting_a_model_that_is_not_installed_says_how_to_install_it(tmp_path):
    models_dir = tmp_path / "models"
    with pytest.raises(NotFoundError) as caught:
        ensure_running("smollm2-135m", tmp_path / "state", models_dir)
    assert str(caught.value) == (
        f"embedded model 'smollm2-135m' is not installed in {models_dir} (no verified smollm2-135m.gguf); "
        "install it first: llmops embedded install --model smollm2-135m"
    )


def test_unknown_model_name_is_refused_before_anything_starts(tmp_path):
    with pytest.raises(NotFoundError, match="^unknown embedded model 'tiny'; valid: "):
        ensure_running("tiny", tmp_path)


def test_record_round_trip(tmp_path):
    record = _record(1234)
    path = servers(tmp_path).write("smollm2-135m", record)
    assert path == tmp_path / "embedded" / "smollm2-135m.json"
    assert servers(tmp_path).read("smollm2-135m") == record
    assert record.base_url == "http://127.0.0.1:9/v1"


@pytest.mark.parametrize("content", ["{torn", "[]", '{"name": "smollm2-135m"}'])
def test_unreadable_record_counts_as_no_server(tmp_path, content):
    (tmp_path / "embedded").mkdir()
    (tmp_path / "embedded" / "smollm2-135m.json").write_text(content)
    assert servers(tmp_path).read("smollm2-135m") is None
    assert find_running("smollm2-135m", tmp_path) is None


def test_a_recorded_pid_that_is_not_our_server_is_never_signalled(tmp_path):
    # The pid is this test process: alive, but not running the server code (pids get reused).
    servers(tmp_path).write("smollm2-135m", _record(os.getpid()))
    assert stop("smollm2-135m", tmp_path) is False
    assert servers(tmp_path).read("smollm2-135m") is None  # the stale record is cleared
    servers(tmp_path).write("smollm2-135m", _record(os.getpid()))
    assert find_running("smollm2-135m", tmp_path) is None
    assert servers(tmp_path).read("smollm2-135m") is None


def test_a_record_for_another_file_is_not_reused(tmp_path):
    servers(tmp_path).write("smollm2-135m", replace(_record(os.getpid()), sha256="f" * 64))
    assert find_running("smollm2-135m", tmp_path) is None


def test_stop_without_a_record_does_nothing(tmp_path):
    assert stop("smollm2-135m", tmp_path) is False


@pytest.mark.parametrize("url", ["http://localhost:8080/health", "https://api.openai.com/v1/models"])
def test_loopback_client_refuses_other_hosts(url):
    with pytest.raises(UsageError) as caught:
        get_json(url, timeout=1.0)
    assert str(caught.value) == f"refusing to call '{url}': the embedded server only listens on 127.0.0.1"


class _CannedCompletions(BaseHTTPRequestHandler):
    """Answers like llama.cpp's server after `delay` seconds; remembers the request body."""

    answer: dict[str, Any] = {}
    delay = 0.0
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"path": self.path, "body": json.loads(body)})
        time.sleep(self.delay)
        payload = json.dumps(self.answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def canned_server() -> Iterator[tuple[str, type[_CannedCompletions]]]:
    handler = type("Handler", (_CannedCompletions,), {"received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler
    finally:
        server.shutdown()
        server.server_close()


def test_speed_uses_usage_counts_wall_time_and_server_timings(canned_server):
    base_url, handler = canned_server
    handler.delay = 0.3
    handler.answer = {
        "usage": {"prompt_tokens": 160, "completion_tokens": 64},
        "timings": {"prompt_ms": 100.0, "prompt_per_second": 1600.0, "predicted_per_second": 320.0},
    }
    measured = measure_speed(base_url)
    assert handler.received == [{"path": "/v1/chat/completions", "body": {
        "messages": handler.received[0]["body"]["messages"], "temperature": 0, "max_tokens": 64,
        "ignore_eos": True, "cache_prompt": False}}]
    assert (measured.prompt_tokens, measured.completion_tokens) == (160, 64)
    assert (measured.prompt_tokens_per_second, measured.server_decode_tokens_per_second) == (1600.0, 320.0)
    assert measured.wall_seconds >= 0.3  # the server's 0.3 s answer is in the wall time
    # 64 tokens over (wall - 0.1 s of reported prompt time)
    assert measured.decode_tokens_per_second == pytest.approx(64 / (measured.wall_seconds - 0.1), rel=0.02)


def test_speed_without_server_timings_uses_the_whole_wall_time(canned_server):
    base_url, handler = canned_server
    handler.delay = 0.2
    handler.answer = {"usage": {"prompt_tokens": 10, "completion_tokens": 8}}
    measured = measure_speed(base_url, max_tokens=8)
    assert isinstance(measured, SpeedMeasurement)
    assert (measured.prompt_tokens_per_second, measured.server_decode_tokens_per_second) == (None, None)
    assert measured.decode_tokens_per_second == pytest.approx(8 / measured.wall_seconds, rel=0.02)

