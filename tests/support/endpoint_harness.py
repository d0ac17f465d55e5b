"""The endpoint's app and HTTP server for fast tests: the real EndpointApp on the real uvicorn server and guarded
protocol, on loopback, serving one deployment whose runner follows a script instead of running a flow.

The script is the request: `{"text": ...}` is echoed back as `{"echo": ...}`; `"sleep": s` waits s seconds
first; `"fail": true` fails the line. Nothing of prompt flow is imported, so a test starts a server in
milliseconds."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops.backends.endpoints import Deployment, Endpoint, TrafficMap
from llmops.backends.traffic import Split
from llmops.backends.types import LineOutcome
from llmops.serving.app import AppOptions, EndpointApp
from llmops.serving.asgi_server import AsgiServer
from llmops.serving.deployments import LoadedDeployment
from llmops.serving.flow_inputs import FlowInput
from llmops.serving.live_state import Snapshot
from llmops.serving.mirror import Mirror
from llmops.serving.ports import listening_socket
from llmops.serving.production_log import ProductionLog
from llmops.serving.telemetry import EndpointTelemetry
from llmops.serving.traffic import Router


class ScriptedRunner:
    async def run_line_async(self, index: int, inputs: dict[str, Any]) -> LineOutcome:
        await asyncio.sleep(float(inputs.get("sleep", 0)))
        if inputs.get("fail"):
            return LineOutcome(index, inputs, {}, "scripted failure", 0.0)
        return LineOutcome(index, inputs, {"echo": inputs.get("text")}, None, 0.0)


def one_deployment(name: str = "blue") -> Snapshot:
    record = Deployment("demo", name, "demo_dev", 3, "flows/standard", {"classify": "v2"}, "classify.v2")
    endpoint = Endpoint("demo", "demo", "dev", "replay", 1, (record,),
                        TrafficMap(1, Split({name: 100}), "test", False, ""))
    loaded = LoadedDeployment(record, ScriptedRunner(), (FlowInput("text", "string", True),))  # type: ignore[arg-type]
    return Snapshot(1, endpoint, {name: loaded}, Router(endpoint.split, seed=1))


@dataclass
class GatedSource:
    """Serves `snapshot` once `loaded` is set: until then the endpoint is live but not ready."""

    snapshot: Snapshot = field(default_factory=one_deployment)
    loaded_event: threading.Event = field(default_factory=threading.Event)

    @property
    def ready(self) -> bool:
        return self.loaded_event.is_set()

    def loaded(self) -> Snapshot | None:
        return self.snapshot if self.ready else None

    async def current(self) -> Snapshot:
        return self.snapshot


@dataclass
class Served:
    port: int
    app: EndpointApp
    source: GatedSource
    log_path: Path

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                timeout: float = 10) -> tuple[int, dict[str, str], Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            raw = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
            sent = {"Content-Type": "application/json", **(headers or {})}
            conn.request(method, path, body=raw, headers=sent)
            response = conn.getresponse()
            payload = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(payload)
        finally:
            conn.close()

    def score(self, inputs: Any, headers: dict[str, str] | None = None,
              timeout: float = 10) -> tuple[int, dict[str, str], Any]:
        return self.request("POST", "/score", inputs, headers, timeout)


@contextmanager
def serving(tmp_path: Path, options: AppOptions | None = None, telemetry: EndpointTelemetry | None = None,
            ready: bool = True) -> Iterator[Served]:
    options = options or AppOptions()
    source = GatedSource()
    if ready:
        source.loaded_event.set()
    log_path = tmp_path / "production_log.jsonl"
    log = ProductionLog(log_path)
    app = EndpointApp("demo", source, log, options, Mirror(), telemetry)
    sock = listening_socket("127.0.0.1", 0)
    port = int(sock.getsockname()[1])

    async def nothing() -> None:
        return None

    server = AsgiServer(app, sock, options.limits, nothing, nothing)
    thread = threading.Thread(target=server.run, name="endpoint-under-test", daemon=True)
    thread.start()
    try:
        yield Served(port, app, source, log_path)
    finally:
        server.stop()
        thread.join(timeout=30)
        log.close()
