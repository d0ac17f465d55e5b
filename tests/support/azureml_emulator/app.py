"""The emulator's front door: authentication, faults, routing, and errors in the service's shape."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from dataclasses import dataclass

from .context import Context
from .errors import ServiceError
from .http import DROPPED, Request, Response, json_response
from .routing import Router

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    api_version: str | None
    status: int  # 0: the connection was dropped without an answer
    received_at: float = 0.0  # time.monotonic() when the request arrived: how long a client waited between tries


class EmulatorApp:
    def __init__(self, context: Context, router: Router) -> None:
        self.context = context
        self.router = router
        self.requests: list[LoggedRequest] = []  # every request answered, for tests to inspect
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        received_at = time.monotonic()
        try:
            response = self._answer(request)
        except ServiceError as error:
            response = json_response(error.body(), error.status, error.headers)
        except Exception as error:  # a bug in the emulator: say so in the answer, as a 500 would
            log.exception("emulator failed on %s %s", request.method, request.path)
            body = {"error": {"code": "InternalServerError", "message": f"{error!r}\n{traceback.format_exc()}"}}
            response = json_response(body, 500)
        with self._lock:
            self.requests.append(
                LoggedRequest(
                    request.method, request.path, request.query.get("api-version"), response.status, received_at
                )
            )
        return response

    def _answer(self, request: Request) -> Response:
        match = self.router.match(request)
        if match.route.authenticate is not None:
            match.route.authenticate(request)
        elif not match.route.public and not request.headers.get("authorization", "").startswith("Bearer "):
            raise ServiceError(
                401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
            )
        if "workspace" in match.params:
            self.context.scope.check(match.params)
        if self.context.faults.drops(request):
            return DROPPED
        fault = self.context.faults.http_error(request, match.route)
        if fault is not None:
            raise fault
        return match.route.handler(request, match.params)
