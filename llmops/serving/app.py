"""The endpoint's WSGI app: `POST /score` and `GET /health`, answering like `pf flow serve` and Azure ML.

`POST /score` takes the flow inputs as a JSON object and returns the flow outputs. The request header
`azureml-model-deployment` forces a deployment (how a new deployment is smoke-tested before it takes
traffic); every answer names the deployment that served it in the same header, and its request id in
`x-request-id`. Errors are JSON `{"error": {"message": ...}}`: 400 (body not JSON, nested too deep, inputs
missing or of the wrong type), 401 (the endpoint's key missing or wrong), 404 (unknown deployment or path),
413 (body too large; answered by the server, see guard.py), 415 (not `application/json`), 500 (the flow
failed: the message names only the request id, and server.log has the details, which may hold server
paths), 503 (no deployment takes traffic).
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from llmops.backends.local.engine.line_loop import LineLoop
from llmops.serving.deployments import LoadedDeployment
from llmops.serving.endpoint_key import EndpointKey
from llmops.serving.flow_inputs import input_problems
from llmops.serving.live_state import LiveState
from llmops.serving.mirror import Mirror
from llmops.serving.production_log import ProductionLog, make_entry
from llmops.serving.request_body import Refused, check_content_type, parse_json

logger = logging.getLogger(__name__)

DEPLOYMENT_HEADER = "azureml-model-deployment"
REQUEST_ID_HEADER = "x-request-id"
StartResponse = Callable[..., Any]
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
            415: "Unsupported Media Type", 500: "Internal Server Error", 503: "Service Unavailable"}


def _wsgi_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def _error(message: str) -> dict[str, Any]:
    return {"error": {"message": message}}


def _failed(what: str, request_id: str) -> dict[str, Any]:
    """A 500's answer: the details (a traceback, server paths) are for server.log only."""
    return {"error": {"message": f"{what}; see request id {request_id} in the endpoint's server.log",
                      "request_id": request_id}}


def _json_bytes(body: Any) -> bytes:
    text = json.dumps(body, ensure_ascii=False, default=str)
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate (say, echoed from the inputs) goes back as the JSON escape it was
        return json.dumps(body, default=str).encode()


class EndpointApp:
    def __init__(self, endpoint: str, state: LiveState, log: ProductionLog, lines: LineLoop,
                 sticky_header: str = "", mirror: Mirror | None = None, key: EndpointKey | None = None) -> None:
        self.endpoint = endpoint
        self.key = key
        self.lines = lines
        self.state = state
        self.log = log
        self.sticky_key = _wsgi_key(sticky_header) if sticky_header else ""
        self.mirror = mirror or Mirror()
        self._line_numbers = itertools.count()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", "/"), environ.get("REQUEST_METHOD", "GET")
        request_id = os.urandom(8).hex()  # names the request in server.log; cheaper than a uuid
        try:
            if path == "/score" and method == "POST":
                status, body, deployment = self._score(environ, request_id)
            elif path == "/health" and method == "GET":
                status, body, deployment = 200, self._health(), None
            elif path in ("/score", "/health"):
                status, body, deployment = 405, _error(f"{method} {path} is not supported; use POST /score "
                                                       "or GET /health"), None
            else:
                status, body, deployment = 404, _error(f"no route {path}; use POST /score or GET /health"), None
        except Refused as error:
            status, body, deployment = error.status, _error(error.message), None
        except Exception:  # the server answers every request, whatever went wrong
            logger.exception("request %s: %s %s failed", request_id, method, path)
            status, body, deployment = 500, _failed("internal error", request_id), None
        payload = _json_bytes(body)
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload))),
                   (REQUEST_ID_HEADER, request_id)]
        if deployment:
            headers.append((DEPLOYMENT_HEADER, deployment))
        if status == 401:
            headers.append(("WWW-Authenticate", "Bearer"))
        start_response(f"{status} {_REASONS.get(status, '')}", headers)
        return [payload]

    def _health(self) -> dict[str, Any]:
        snapshot = self.state.current()
        split = snapshot.endpoint.split
        return {"status": "healthy", "endpoint": self.endpoint, "version": snapshot.version,
                "deployments": {name: {"model": d.record.model_name, "model_version": d.record.model_version,
                                       "variant": d.record.variant_label, "traffic": split.live.get(name, 0),
                                       "mirror": split.mirror.get(name, 0), "error": d.error}
                                for name, d in snapshot.deployments.items()}}

    def _authorize(self, environ: dict[str, Any]) -> None:
        if self.key is not None and not self.key.admits(environ.get("HTTP_AUTHORIZATION", "")):
            raise Refused(401, f"endpoint '{self.endpoint}' needs its key: send the header Authorization: Bearer "
                                  f"<key>, where the key is the value of {self.key.variable} (.env or environment)")

    def _score(self, environ: dict[str, Any], request_id: str) -> tuple[int, dict[str, Any], str | None]:
        started = time.perf_counter()
        self._authorize(environ)  # before anything is read or logged: a caller without the key leaves no trace
        try:
            check_content_type(environ.get("CONTENT_TYPE", ""))
            inputs = parse_json(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        except Refused as error:
            self._log(None, False, started, error.status, None, {})
            raise
        snapshot = self.state.current()
        forced = environ.get(_wsgi_key(DEPLOYMENT_HEADER), "").strip()
        if forced:
            if forced not in snapshot.deployments:
                known = ", ".join(sorted(snapshot.deployments)) or "(none)"
                self._log(None, False, started, 404, inputs, {})
                return 404, _error(f"deployment '{forced}' not found on endpoint '{self.endpoint}'; "
                                   f"deployments: {known}"), None
            name: str | None = forced
        else:
            name = snapshot.router.choose(environ.get(self.sticky_key) if self.sticky_key else None)
        if name is None:
            status, body = 503, _error(f"no deployment of endpoint '{self.endpoint}' takes traffic; deploy one "
                                       "with llmops deploy, or set traffic with llmops endpoint traffic --set")
            self._log(None, False, started, status, inputs, {})
            return status, body, None
        deployment = snapshot.deployments[name]
        status, body = self._run(deployment, inputs, request_id)
        self._log(name, False, started, status, inputs, body if status == 200 else {})
        if status == 200 and not forced:
            for shadow in snapshot.router.mirrors():
                if shadow != name and shadow in snapshot.deployments:
                    self.mirror.submit(shadow, functools.partial(self._shadow, snapshot.deployments[shadow], inputs,
                                                                 request_id))
        return status, body, name

    def _run(self, deployment: LoadedDeployment, inputs: Any, request_id: str) -> tuple[int, dict[str, Any]]:
        name = deployment.record.name
        if deployment.runner is None:
            logger.error("request %s: %s", request_id, deployment.error or f"deployment '{name}' is not loaded")
            return 500, _failed(f"deployment '{name}' is not loaded", request_id)
        problems = input_problems(deployment.inputs, inputs, name)
        if problems:
            return 400, _error("; ".join(problems))
        outcome = self.lines.run_line(deployment.runner, next(self._line_numbers), inputs)
        if outcome.error is not None:
            logger.error("request %s: deployment '%s' failed: %s", request_id, name, outcome.error)
            return 500, _failed(f"deployment '{name}' failed on this request", request_id)
        return 200, outcome.outputs

    def _shadow(self, deployment: LoadedDeployment, inputs: dict[str, Any], request_id: str) -> None:
        started = time.perf_counter()
        status, body = self._run(deployment, inputs, f"{request_id} (mirror)")
        self._log(deployment.record.name, True, started, status, inputs, body if status == 200 else {})

    def _log(self, deployment: str | None, mirror: bool, started: float, status: int, inputs: Any,
             outputs: dict[str, Any]) -> None:
        latency_ms = (time.perf_counter() - started) * 1000
        self.log.append(make_entry(self.endpoint, deployment, mirror, latency_ms, status, inputs, outputs))
