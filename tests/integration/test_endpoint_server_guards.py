"""The endpoint server's guards on a real uvicorn server on loopback (tests/support/endpoint_harness.py): the key,
the bound on requests in flight, the request timeout, readiness, header limits, and its OpenTelemetry spans and
metrics, which carry no request body and no key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmops.serving.app import AppOptions
from llmops.serving.endpoint_key import EndpointKey
from llmops.serving.production_log import read_entries
from llmops.serving.server_settings import ServerLimits
from llmops.serving.telemetry import EndpointTelemetry
from tests.support.endpoint_harness import serving

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parents[2]
KEY = "k3y-for-tests-0123456789abcdef"
WITH_KEY = AppOptions(key=EndpointKey("DEMO_ENDPOINT_KEY", KEY))


def test_a_public_bind_without_a_key_is_refused_before_anything_starts(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LLMOPS_ENDPOINT_KEY"}
    done = subprocess.run([sys.executable, "-m", "llmops.serving", "--root", str(tmp_path), "--state-dir",
                           str(tmp_path / ".llmops"), "--use-case", "x", "--env", "dev", "--endpoint", "x",
                           "--host", "0.0.0.0"], capture_output=True, text=True, timeout=60,
                          env={**env, "PYTHONPATH": str(REPO)})
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == ("error: refusing to listen on 0.0.0.0 without a key: anyone who reaches it could call the "
                           "flow; set LLMOPS_ENDPOINT_KEY to a key (make one with: python -c \"import secrets; "
                           "print(secrets.token_urlsafe(32))\"), or listen on 127.0.0.1\n")
    assert not (tmp_path / ".llmops").exists()


NEEDS_KEY = {"error": {"message": "endpoint 'demo' needs its key: send the header Authorization: Bearer <key>, "
                                  "where the key is the value of DEMO_ENDPOINT_KEY (.env or environment)"}}


def test_score_answers_401_without_the_key_and_logs_nothing(tmp_path: Path) -> None:
    with serving(tmp_path, WITH_KEY) as served:
        for headers in ({}, {"Authorization": "Bearer wrong-key-0123456789abcdef"}, {"Authorization": KEY},
                        {"Authorization": f"Basic {KEY}"}):
            status, answer_headers, body = served.score({"text": "secret"}, headers)
            assert (status, body, answer_headers["www-authenticate"]) == (401, NEEDS_KEY, "Bearer"), headers
        assert served.score({"text": "hi"}, {"Authorization": f"Bearer {KEY}"})[::2] == (200, {"echo": "hi"})
        # A probe sends no key: it learns the process serves, not what it serves.
        assert served.request("GET", "/health")[::2] == (200, {"status": "healthy", "ready": True})
        detailed = served.request("GET", "/health", headers={"Authorization": f"Bearer {KEY}"})[2]
        assert detailed["deployments"]["blue"]["model_version"] == 3
    assert [e["status"] for e in read_entries(served.log_path)] == [200]


def slow_requests(served: Any, count: int, seconds: float) -> list[threading.Thread]:
    threads = [threading.Thread(target=served.score, args=({"text": "slow", "sleep": seconds},)) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads


def wait_for_in_flight(served: Any, count: int) -> None:
    deadline = threading.Event()
    for _ in range(200):
        if served.app.in_flight >= count:
            return
        deadline.wait(0.02)
    raise AssertionError(f"{count} requests never were in flight at once")


def test_past_the_bound_on_requests_in_flight_the_answer_is_503_with_retry_after(tmp_path: Path) -> None:
    options = AppOptions(ServerLimits(max_in_flight=2, retry_after_s=3))
    with serving(tmp_path, options) as served:
        slow = slow_requests(served, 2, 1.5)
        wait_for_in_flight(served, 2)
        status, headers, body = served.score({"text": "one too many"})
        assert (status, headers["retry-after"], body) == (503, "3", {"error": {"message": (
            "endpoint 'demo' is serving 2 requests, its limit; retry after 3 s")}})
        assert served.request("GET", "/health")[0] == 200  # probes are not requests in flight
        for thread in slow:
            thread.join()
        assert served.score({"text": "after"})[::2] == (200, {"echo": "after"})


def test_a_flow_past_the_request_timeout_is_answered_504(tmp_path: Path) -> None:
    with serving(tmp_path, AppOptions(ServerLimits(request_timeout_s=0.3))) as served:
        status, headers, body = served.score({"text": "slow", "sleep": 5})
        assert (status, headers["azureml-model-deployment"], body) == (504, "blue", {"error": {"message": (
            "deployment 'blue' did not answer within the request timeout of 0.3 s")}})
        assert served.app.in_flight == 0
    assert [(e["status"], e["deployment"]) for e in read_entries(served.log_path)] == [(504, "blue")]


def test_ready_only_once_the_deployments_are_loaded(tmp_path: Path) -> None:
    with serving(tmp_path, ready=False) as served:
        status, headers, body = served.request("GET", "/ready")
        assert (status, headers["retry-after"], body) == (503, "1", {"error": {"message": (
            "endpoint 'demo' is loading its deployments")}})
        assert served.request("GET", "/health")[::2] == (200, {"status": "healthy", "ready": False, "endpoint": "demo"})
        assert served.score({"text": "early"})[0] == 503
        served.source.loaded_event.set()
        assert served.request("GET", "/ready")[::2] == (200, {"status": "ready"})
        assert served.score({"text": "now"})[::2] == (200, {"echo": "now"})


def test_probe_paths_are_configurable(tmp_path: Path) -> None:
    limits = ServerLimits().with_environment({"LLMOPS_ENDPOINT_LIVENESS_PATH": "/live",
                                              "LLMOPS_ENDPOINT_READINESS_PATH": "/readyz"})
    with serving(tmp_path, AppOptions(limits)) as served:
        assert [served.request("GET", path)[0] for path in ("/live", "/readyz", "/health")] == [200, 200, 404]
        assert served.request("GET", "/health")[2] == {"error": {"message": (
            "no route /health; use POST /score, GET /live or GET /readyz")}}


def test_headers_past_the_limit_are_answered_431(tmp_path: Path) -> None:
    with serving(tmp_path, AppOptions(ServerLimits(max_header_bytes=4096))) as served:
        status, _, body = served.score({"text": "x"}, {"X-Big": "b" * 5000})
        assert (status, body) == (431, {"error": {"message": (
            "the request line and headers are larger than this endpoint's limit of 4096 bytes; send fewer or "
            "shorter headers")}})
        assert served.score({"text": "x"}, {"X-Fits": "b" * 3000})[0] == 200


def test_spans_and_metrics_name_the_request_and_carry_no_body_or_key(tmp_path: Path) -> None:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    telemetry = EndpointTelemetry("demo", tracer_provider, MeterProvider(metric_readers=[reader]))
    with serving(tmp_path, WITH_KEY, telemetry) as served:
        assert served.score({"text": "private words"}, {"Authorization": f"Bearer {KEY}"})[0] == 200
        assert served.score({"text": "x", "fail": True}, {"Authorization": f"Bearer {KEY}"})[0] == 500
        assert served.score({"text": "x"})[0] == 401
    finished = spans.get_finished_spans()
    by_name: dict[str, list[Any]] = {}
    for span in finished:
        by_name.setdefault(span.name, []).append(span)
    assert sorted((name, len(found)) for name, found in by_name.items()) == [("POST /score", 3), ("flow line", 2)]
    ok = next(s for s in by_name["POST /score"] if s.attributes["http.response.status_code"] == 200)
    assert {k: v for k, v in ok.attributes.items() if k not in ("llmops.latency_ms", "llmops.request_id")} == {
        "http.request.method": "POST", "http.route": "/score", "llmops.endpoint": "demo", "llmops.deployment": "blue",
        "llmops.model.name": "demo_dev", "llmops.model.version": 3, "llmops.variant": "classify.v2",
        "http.response.status_code": 200}
    assert ok.attributes["llmops.latency_ms"] > 0 and len(ok.attributes["llmops.request_id"]) == 16
    line = next(s for s in by_name["flow line"] if s.parent.span_id == ok.context.span_id)
    assert line.attributes["llmops.deployment"] == "blue"
    failed = next(s for s in by_name["POST /score"] if s.attributes["http.response.status_code"] == 500)
    assert failed.status.status_code.name == "ERROR"
    exported = json.dumps([span.to_json() for span in finished])
    assert "private words" not in exported and KEY not in exported

    metrics = {m.name: m for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics
               for m in sm.metrics}
    counts = {(p.attributes["http.response.status_code"], p.attributes.get("llmops.deployment")): p.value
              for p in metrics["llmops.endpoint.requests"].data.data_points}
    assert counts == {(200, "blue"): 1, (500, "blue"): 1, (401, None): 1}
    durations = metrics["http.server.request.duration"].data.data_points
    assert sum(p.count for p in durations) == 3 and all(p.sum > 0 for p in durations)
    assert [p.value for p in metrics["llmops.endpoint.requests.in_flight"].data.data_points] == [0]
    assert "private words" not in reader.get_metrics_data().to_json() and KEY not in reader.get_metrics_data().to_json()
