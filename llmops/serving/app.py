"""The endpoint's ASGI app: `POST /score`, liveness and readiness, answering like `pf flow serve` and Azure ML.

`POST /score` takes the flow inputs as a JSON object and returns the flow outputs; the line runs on the
server's event loop (prompt flow's async line API, its synchronous nodes on the shared node pool), so a
request costs no thread of its own. The request header `azureml-model-deployment` forces a deployment (how
a new deployment is smoke-tested before it takes traffic); every answer names the deployment that served it
in the same header, and its request id in `x-request-id`. A request with `x-llmops-probe: 1`
(backends/targets.PROBE_HEADER) is llmops testing the endpoint: its log entry, and its mirror copies', say
`"probe": true`.

Errors are JSON `{"error": {"message": ...}}`: 400 (body not JSON, nested too deep, inputs missing or of the
wrong type), 401 (the endpoint's key missing or wrong), 404 (unknown deployment or path), 405, 413 (body over
the limit, refused before it is read when Content-Length says so), 415 (not `application/json`), 431 (headers
over the limit; answered by the protocol, see http_protocol.py), 500 (the flow failed: the message names only
the request id, and server.log has the details, which may hold server paths), 503 (no deployment takes
traffic, the deployments are still loading, or more requests are in flight than the endpoint takes: then with
`Retry-After`), 504 (the flow ran past the request timeout).

Liveness (default `/health`) answers 200 while the process serves; with the deployments, their traffic and
load errors, unless the endpoint has a key and the probe does not send it (probes send none). Readiness
(default `/ready`) answers 200 once the deployments are loaded (by every worker process, when there are
several), 503 before.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmops.backends.targets import DEPLOYMENT_HEADER, PROBE_HEADER, PROBE_VALUE, REQUEST_ID_HEADER
from llmops.serving.asgi_io import (
    Answer,
    ClientGone,
    Receive,
    Scope,
    Send,
    error,
    headers_of,
    read_body,
    send_answer,
    text,
)
from llmops.serving.deployments import LoadedDeployment
from llmops.serving.endpoint_key import EndpointKey
from llmops.serving.flow_inputs import input_problems
from llmops.serving.live_state import DeploymentSource, Snapshot
from llmops.serving.mirror import Mirror
from llmops.serving.production_log import ProductionLog, make_entry
from llmops.serving.request_body import Refused, check_content_type, parse_json
from llmops.serving.server_settings import ServerLimits
from llmops.serving.telemetry import EndpointTelemetry, RequestTrace

logger = logging.getLogger(__name__)

_DEPLOYMENT = DEPLOYMENT_HEADER.encode()
_PROBE, _PROBE_VALUE = PROBE_HEADER.encode(), PROBE_VALUE.encode()


@dataclass(frozen=True)
class AppOptions:
    limits: ServerLimits = ServerLimits()
    key: EndpointKey | None = None
    sticky_header: str = ""  # requests with the same value of this header land on the same deployment
    # With several worker processes (workers.py): whether every one has loaded. Readiness answers for the server,
    # so a probe that reaches a loaded worker does not send traffic to the others before they can take it.
    all_ready: Callable[[], bool] | None = None


def _failed(what: str, request_id: str) -> dict[str, Any]:
    """A 500's answer: the details (a traceback, server paths) are for server.log only."""
    return {"error": {"message": f"{what}; see request id {request_id} in the endpoint's server.log",
                      "request_id": request_id}}


class EndpointApp:
    def __init__(self, endpoint: str, deployments: DeploymentSource, log: ProductionLog,
                 options: AppOptions = AppOptions(), mirror: Mirror | None = None,
                 telemetry: EndpointTelemetry | None = None) -> None:
        self.endpoint = endpoint
        self.deployments = deployments
        self.log = log
        self.limits = options.limits
        self.key = options.key
        self.sticky = options.sticky_header.lower().encode()
        self.all_ready = options.all_ready
        self.mirror = mirror or Mirror()
        self.telemetry = telemetry or EndpointTelemetry(endpoint)
        self.in_flight = 0
        self._line_numbers = itertools.count()
        self._known = {"/score": "POST", self.limits.liveness_path: "GET", self.limits.readiness_path: "GET"}
        self._retry_after = ((b"retry-after", str(self.limits.retry_after_s).encode()),)
        self._too_large = (f"the request body is larger than this endpoint's limit of {self.limits.max_body_bytes} "
                           f"bytes; send less, or raise {self.limits.body_limit_source}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan and websocket: the server runs without either
        path, method = scope["path"], scope["method"]
        request_id = os.urandom(8).hex()  # names the request in server.log; cheaper than a uuid
        route = path if path in ("/score", self.limits.liveness_path, self.limits.readiness_path) else "other"
        trace = self.telemetry.start(method, route)
        if self.telemetry.enabled:
            trace.describe(**{"llmops.request_id": request_id})
        headers = headers_of(scope)
        try:
            answer = await self._route(path, method, headers, receive, request_id, trace)
        except Refused as refused:
            answer = Answer(refused.status, error(refused.message))
        except ClientGone:
            self.telemetry.finish(trace, 499)  # nginx's code for it: no answer was sent
            return
        except Exception:  # the server answers every request, whatever went wrong
            logger.exception("request %s: %s %s failed", request_id, method, path)
            answer = Answer(500, _failed("internal error", request_id))
        common = [(REQUEST_ID_HEADER.encode(), request_id.encode())]
        if answer.deployment:
            common.append((_DEPLOYMENT, answer.deployment.encode()))
        if answer.status == 401:
            common.append((b"www-authenticate", b"Bearer"))
        elif answer.status == 413:  # its body may still be arriving: the protocol lingers, then closes
            common.append((b"connection", b"close"))
        await send_answer(send, answer, common)
        self.telemetry.finish(trace, answer.status)

    async def _route(self, path: str, method: str, headers: dict[bytes, bytes], receive: Receive, request_id: str,
                     trace: RequestTrace) -> Answer:
        known = self._known
        if path not in known:
            return Answer(404, error(f"no route {path}; use {self._routes()}"))
        if method != known[path]:
            return Answer(405, error(f"{method} {path} is not supported; use {self._routes()}"))
        if path == "/score":
            return await self._score(headers, receive, request_id, trace)
        if path == self.limits.readiness_path:
            return self._readiness()
        return await self._liveness(headers)

    def _routes(self) -> str:
        return f"POST /score, GET {self.limits.liveness_path} or GET {self.limits.readiness_path}"

    def _authorized(self, headers: dict[bytes, bytes]) -> bool:
        return self.key is None or self.key.admits(text(headers.get(b"authorization")))

    async def _liveness(self, headers: dict[bytes, bytes]) -> Answer:
        body: dict[str, Any] = {"status": "healthy", "ready": self.deployments.ready}
        if not self._authorized(headers):
            return Answer(200, body)  # a probe without the key learns that the process serves, nothing more
        snapshot = await self.deployments.current() if self.deployments.ready else None
        body["endpoint"] = self.endpoint
        if snapshot is not None:
            split = snapshot.endpoint.split
            body["version"] = snapshot.version
            body["deployments"] = {
                name: {"model": d.record.model_name, "model_version": d.record.model_version,
                       "variant": d.record.variant_label, "traffic": split.live.get(name, 0),
                       "mirror": split.mirror.get(name, 0), "error": d.error}
                for name, d in snapshot.deployments.items()}
        return Answer(200, body)

    def _readiness(self) -> Answer:
        if self.deployments.ready and (self.all_ready is None or self.all_ready()):
            return Answer(200, {"status": "ready"})
        return Answer(503, error(f"endpoint '{self.endpoint}' is loading its deployments"), headers=self._retry_after)

    async def _score(self, headers: dict[bytes, bytes], receive: Receive, request_id: str,
                     trace: RequestTrace) -> Answer:
        started = time.perf_counter()
        if not self._authorized(headers):  # before anything is read or logged: a caller without the key leaves no trace
            assert self.key is not None
            raise Refused(401, f"endpoint '{self.endpoint}' needs its key: send the header Authorization: Bearer "
                               f"<key>, where the key is the value of {self.key.variable} (.env or environment)")
        if self.in_flight >= self.limits.max_in_flight:
            return Answer(503, error(f"endpoint '{self.endpoint}' is serving {self.in_flight} requests, its limit; "
                                     f"retry after {self.limits.retry_after_s} s"), headers=self._retry_after)
        if not self.deployments.ready:
            return self._readiness()
        self.in_flight += 1
        self.telemetry.in_flight(1)
        try:
            return await self._admitted(headers, receive, request_id, trace, started)
        finally:
            self.in_flight -= 1
            self.telemetry.in_flight(-1)

    async def _admitted(self, headers: dict[bytes, bytes], receive: Receive, request_id: str, trace: RequestTrace,
                        started: float) -> Answer:
        probe = headers.get(_PROBE, b"").strip() == _PROBE_VALUE
        try:
            check_content_type(text(headers.get(b"content-type")))
            body = await read_body(receive, headers.get(b"content-length"), self.limits.max_body_bytes,
                                   self._too_large)
            inputs = parse_json(body)
        except Refused as refused:
            self._log(None, False, started, refused.status, None, {}, request_id, probe=probe)
            raise
        snapshot = await self.deployments.current()
        forced = text(headers.get(_DEPLOYMENT)).strip()
        if forced:
            if forced not in snapshot.deployments:
                known = ", ".join(sorted(snapshot.deployments)) or "(none)"
                self._log(None, False, started, 404, inputs, {}, request_id, forced=True, probe=probe)
                return Answer(404, error(f"deployment '{forced}' not found on endpoint '{self.endpoint}'; "
                                         f"deployments: {known}"))
            name: str | None = forced
        else:
            name = snapshot.router.choose(text(headers.get(self.sticky)) if self.sticky else None)
        if name is None:
            self._log(None, False, started, 503, inputs, {}, request_id, probe=probe)
            return Answer(503, error(f"no deployment of endpoint '{self.endpoint}' takes traffic; deploy one with "
                                     "llmops deploy, or set traffic with llmops endpoint traffic --set"))
        deployment = snapshot.deployments[name]
        record = deployment.record
        if self.telemetry.enabled:
            trace.describe(**{"llmops.deployment": name, "llmops.model.name": record.model_name,
                              "llmops.model.version": record.model_version, "llmops.variant": record.variant_label})
        status, outputs = await self._run(deployment, inputs, request_id, trace)
        self._log(name, False, started, status, inputs, outputs if status == 200 else {}, request_id,
                  forced=bool(forced), probe=probe)
        if status == 200 and not forced:
            self._mirror(snapshot, name, inputs, request_id, probe)
        return Answer(status, outputs, name)

    async def _run(self, deployment: LoadedDeployment, inputs: Any, request_id: str,
                   trace: RequestTrace | None = None) -> tuple[int, dict[str, Any]]:
        name = deployment.record.name
        if deployment.runner is None:
            logger.error("request %s: %s", request_id, deployment.error or f"deployment '{name}' is not loaded")
            return 500, _failed(f"deployment '{name}' is not loaded", request_id)
        problems = input_problems(deployment.inputs, inputs, name)
        if problems:
            return 400, error("; ".join(problems))
        span = self.telemetry.line_span(trace, name) if trace is not None else None
        try:
            async with asyncio.timeout(self.limits.request_timeout_s):
                outcome = await deployment.runner.run_line_async(next(self._line_numbers), inputs)
        except TimeoutError:
            logger.error("request %s: deployment '%s' ran past the request timeout of %s s", request_id, name,
                         self.limits.request_timeout_s)
            return 504, error(f"deployment '{name}' did not answer within the request timeout of "
                              f"{self.limits.request_timeout_s:g} s")
        finally:
            if span is not None:
                span.end()
        if outcome.error is not None:
            logger.error("request %s: deployment '%s' failed: %s", request_id, name, outcome.error)
            return 500, _failed(f"deployment '{name}' failed on this request", request_id)
        return 200, outcome.outputs

    def _mirror(self, snapshot: Snapshot, live: str, inputs: Any, request_id: str, probe: bool) -> None:
        for shadow in snapshot.router.mirrors():
            if shadow != live and shadow in snapshot.deployments:
                self.mirror.submit(shadow, functools.partial(self._shadow, snapshot.deployments[shadow], inputs,
                                                             request_id, probe))

    async def _shadow(self, deployment: LoadedDeployment, inputs: dict[str, Any], request_id: str,
                      probe: bool) -> None:
        started = time.perf_counter()
        status, outputs = await self._run(deployment, inputs, f"{request_id} (mirror)")
        self._log(deployment.record.name, True, started, status, inputs, outputs if status == 200 else {},
                  request_id, probe=probe)

    def _log(self, deployment: str | None, mirror: bool, started: float, status: int, inputs: Any,
             outputs: dict[str, Any], request_id: str | None = None, forced: bool = False,
             probe: bool = False) -> None:
        latency_ms = (time.perf_counter() - started) * 1000
        self.log.append(make_entry(self.endpoint, deployment, mirror, latency_ms, status, inputs, outputs,
                                   request_id, forced, probe))
