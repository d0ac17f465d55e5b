"""The endpoint's WSGI app: `POST /score` and `GET /health`, answering like `pf flow serve` and Azure ML.

`POST /score` takes the flow inputs as a JSON object and returns the flow outputs. The request header
`azureml-model-deployment` forces a deployment (how a new deployment is smoke-tested before it takes
traffic); every answer names the deployment that served it in the same header. Errors are JSON
`{"error": {"message": ...}}`: 400 (body not JSON), 404 (unknown deployment or path), 422 (inputs
missing), 500 (the flow failed), 503 (no deployment takes traffic).
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from llmops.backends.local.line_loop import LineLoop
from llmops.serving.deployments import LoadedDeployment
from llmops.serving.live_state import LiveState
from llmops.serving.mirror import Mirror
from llmops.serving.production_log import ProductionLog, make_entry

logger = logging.getLogger(__name__)

DEPLOYMENT_HEADER = "azureml-model-deployment"
StartResponse = Callable[..., Any]
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            422: "Unprocessable Entity", 500: "Internal Server Error", 503: "Service Unavailable"}


def _wsgi_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def _error(message: str) -> dict[str, Any]:
    return {"error": {"message": message}}


class EndpointApp:
    def __init__(self, endpoint: str, state: LiveState, log: ProductionLog, lines: LineLoop,
                 sticky_header: str = "", mirror: Mirror | None = None) -> None:
        self.endpoint = endpoint
        self.lines = lines
        self.state = state
        self.log = log
        self.sticky_key = _wsgi_key(sticky_header) if sticky_header else ""
        self.mirror = mirror or Mirror()
        self._line_numbers = itertools.count()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", "/"), environ.get("REQUEST_METHOD", "GET")
        try:
            if path == "/score" and method == "POST":
                status, body, deployment = self._score(environ)
            elif path == "/health" and method == "GET":
                status, body, deployment = 200, self._health(), None
            elif path in ("/score", "/health"):
                status, body, deployment = 405, _error(f"{method} {path} is not supported; use POST /score "
                                                       "or GET /health"), None
            else:
                status, body, deployment = 404, _error(f"no route {path}; use POST /score or GET /health"), None
        except Exception as error:  # the server answers every request, whatever went wrong
            logger.exception("request %s %s failed", method, path)
            status, body, deployment = 500, _error(f"internal error: {type(error).__name__}: {error}"), None
        payload = json.dumps(body, ensure_ascii=False, default=str).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        if deployment:
            headers.append((DEPLOYMENT_HEADER, deployment))
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

    def _score(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any], str | None]:
        started = time.perf_counter()
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        try:
            inputs = json.loads(raw or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            self._log(None, False, started, 400, None, {})
            return 400, _error(f"the request body is not JSON ({error}); send the flow inputs as a JSON object"), None
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
        status, body = self._run(deployment, inputs)
        self._log(name, False, started, status, inputs, body if status == 200 else {})
        if status == 200 and not forced:
            for shadow in snapshot.router.mirrors():
                if shadow != name and shadow in snapshot.deployments:
                    self.mirror.submit(shadow, functools.partial(self._shadow, snapshot.deployments[shadow], inputs))
        return status, body, name

    def _run(self, deployment: LoadedDeployment, inputs: Any) -> tuple[int, dict[str, Any]]:
        name = deployment.record.name
        if deployment.runner is None:
            return 500, _error(deployment.error or f"deployment '{name}' is not loaded")
        if not isinstance(inputs, dict):
            return 422, _error(f"the request body must be a JSON object of flow inputs, got {type(inputs).__name__}")
        missing = [n for n in deployment.required_inputs if n not in inputs]
        if missing:
            return 422, _error(f"missing input(s) {', '.join(repr(m) for m in missing)}; deployment '{name}' "
                               f"needs: {', '.join(deployment.required_inputs)}")
        outcome = self.lines.run_line(deployment.runner, next(self._line_numbers), inputs)
        if outcome.error is not None:
            return 500, _error(f"deployment '{name}' failed on this request: {outcome.error}")
        return 200, outcome.outputs

    def _shadow(self, deployment: LoadedDeployment, inputs: dict[str, Any]) -> None:
        started = time.perf_counter()
        status, body = self._run(deployment, inputs)
        self._log(deployment.record.name, True, started, status, inputs, body if status == 200 else {})

    def _log(self, deployment: str | None, mirror: bool, started: float, status: int, inputs: Any,
             outputs: dict[str, Any]) -> None:
        latency_ms = (time.perf_counter() - started) * 1000
        self.log.append(make_entry(self.endpoint, deployment, mirror, latency_ms, status, inputs, outputs))
