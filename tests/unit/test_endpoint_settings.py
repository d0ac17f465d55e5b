"""The endpoint server's settings from the environment, its bind rule, its exporters and its production log's
place: each bad value is named with the variable and the fix."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from llmops.errors import LlmopsError
from llmops.serving.endpoint_key import EndpointKey
from llmops.serving.production_log import ProductionLog, log_location, log_path, make_entry, read_tree
from llmops.serving.server_settings import Listen, ServerLimits, is_loopback
from llmops.serving.telemetry import exporters_named, from_environment


def test_limits_take_their_variables() -> None:
    limits = ServerLimits().with_environment({
        "LLMOPS_ENDPOINT_MAX_BODY_BYTES": "2048", "LLMOPS_ENDPOINT_REQUEST_TIMEOUT_S": "12.5",
        "LLMOPS_ENDPOINT_MAX_IN_FLIGHT": " 8 ", "LLMOPS_ENDPOINT_READINESS_PATH": "/readyz",
        "LLMOPS_ENDPOINT_RETRY_AFTER_S": ""})
    assert (limits.max_body_bytes, limits.request_timeout_s, limits.max_in_flight, limits.readiness_path,
            limits.retry_after_s) == (2048, 12.5, 8, "/readyz", 1)
    assert limits.body_limit_source == "LLMOPS_ENDPOINT_MAX_BODY_BYTES"  # what a 413 tells the caller to raise
    assert ServerLimits().with_environment({}) == ServerLimits()


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("LLMOPS_ENDPOINT_MAX_IN_FLIGHT", "many", "LLMOPS_ENDPOINT_MAX_IN_FLIGHT='many' must be a whole number above 0"),
    ("LLMOPS_ENDPOINT_MAX_IN_FLIGHT", "0", "LLMOPS_ENDPOINT_MAX_IN_FLIGHT='0' must be a whole number above 0"),
    ("LLMOPS_ENDPOINT_REQUEST_TIMEOUT_S", "-1",
     "LLMOPS_ENDPOINT_REQUEST_TIMEOUT_S='-1' must be a number of seconds above 0"),
    ("LLMOPS_ENDPOINT_LIVENESS_PATH", "health",
     "LLMOPS_ENDPOINT_LIVENESS_PATH='health' is not a path; give one starting with /, such as /health"),
])
def test_a_bad_limit_names_its_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(LlmopsError) as raised:
        ServerLimits().with_environment({variable: value})
    assert str(raised.value) == message


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True),
                                               ("localhost", True), ("0.0.0.0", False), ("::", False),
                                               ("10.0.0.4", False), ("myhost", False)])
def test_only_loopback_may_listen_without_a_key(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    if loopback:
        Listen(host, 0)
    else:
        with pytest.raises(LlmopsError, match=f"^refusing to listen on {host} without a key"):
            Listen(host, 0)
        Listen(host, 0, EndpointKey("K", "k" * 20))


@pytest.mark.parametrize(("environ", "names"), [
    ({}, []),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, ["otlp"]),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, ["otlp"]),
    ({"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=00000000-0000-0000-0000-000000000000"},
     ["azure_monitor"]),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
      "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=00000000-0000-0000-0000-000000000000"},
     ["otlp", "azure_monitor"]),
])
def test_the_exporters_follow_the_environment(environ: dict[str, str], names: list[str]) -> None:
    assert exporters_named(environ) == names
    telemetry = from_environment("demo", environ)
    try:
        assert telemetry.enabled is bool(names)
    finally:
        telemetry.shutdown()


def test_the_production_log_goes_under_the_configured_folder_one_file_per_host(tmp_path: Path) -> None:
    state = tmp_path / ".llmops"
    assert log_location(state, "web", {}) == log_path(state, "web")
    shared = tmp_path / "mounted"
    assert log_location(state, "web", {"LLMOPS_PRODUCTION_LOG_DIR": str(shared)}) == (
        shared / "web" / socket.gethostname() / "production_log.jsonl")
    # Two replicas' files are read back as one log, oldest first.
    for replica, stamps in (("pod-a", ["2026-01-01T00:00:01", "2026-01-01T00:00:03"]),
                            ("pod-b", ["2026-01-01T00:00:02"])):
        log = ProductionLog(shared / "web" / replica / "production_log.jsonl")
        for stamp in stamps:
            log.append({**make_entry("web", "blue", False, 1.0, 200, {"at": stamp}, {}), "timestamp": stamp})
        log.close()
    assert [e["inputs"]["at"] for e in read_tree(shared / "web")] == [
        "2026-01-01T00:00:01", "2026-01-01T00:00:02", "2026-01-01T00:00:03"]
    assert json.loads((shared / "web/pod-b/production_log.jsonl").read_text())["deployment"] == "blue"
