"""Faults on demand: what a test arms before it calls the SDK.

HTTP faults answer instead of the handler: 429 or 503 with `Retry-After` for the next N matching
requests, or a 403 `AuthorizationFailed` naming the role action and scope, worded as ARM words it.
Job faults are read by the job runner: a job that fails, a node process killed in the middle of a
mini-batch.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .errors import ServiceError
from .http import Request
from .routing import Route

# The identity a 403 names: the test credential's service principal.
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
OBJECT_ID = "66666666-7777-8888-9999-000000000000"


@dataclass
class _HttpFault:
    error: ServiceError
    remaining: int | None  # None: every matching request
    path: str | None  # a part of the path the request must contain (case-insensitive), or any
    method: str | None

    def matches(self, request: Request) -> bool:
        return (self.path is None or self.path.lower() in request.path.lower()) and (
            self.method is None or self.method == request.method
        )


@dataclass
class NodeKill:
    mini_batch: int  # the index of the mini-batch during which a node process is killed
    times: int  # how many attempts of it die


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._http: list[_HttpFault] = []
        self._forbidden: list[tuple[str, str | None]] = []  # (action fragment, path fragment)
        self._failing_jobs: dict[str, str] = {}  # job name ("*" for the next one) -> error message
        self._node_kills: dict[str, NodeKill] = {}  # job name or "*" -> kill plan

    def clear(self) -> None:
        with self._lock:
            self._http.clear()
            self._forbidden.clear()
            self._failing_jobs.clear()
            self._node_kills.clear()

    def throttle(
        self,
        count: int = 1,
        *,
        status: int = 429,
        retry_after: int = 1,
        path: str | None = None,
        method: str | None = None,
    ) -> None:
        """The next `count` requests (whose path contains `path`) get `status` with `Retry-After`."""
        code, message = {
            429: ("TooManyRequests", "The request was throttled: too many requests. Retry after the time given."),
            503: ("ServiceUnavailable", "The service is temporarily unavailable. Retry after the time given."),
        }[status]
        error = ServiceError(status, code, message, headers={"Retry-After": str(retry_after)})
        with self._lock:
            self._http.append(_HttpFault(error, count, path, method))

    def forbid(self, action: str = "", *, path: str | None = None) -> None:
        """Requests needing a role action containing `action` (on a path containing `path`) get a 403."""
        with self._lock:
            self._forbidden.append((action.lower(), path))

    def fail_job(self, name: str = "*", message: str = "Execution failed: injected by the test.") -> None:
        """The job `name` (or the next job submitted) fails with `message` instead of running."""
        with self._lock:
            self._failing_jobs[name] = message

    def kill_node(self, job: str = "*", *, mini_batch: int = 0, times: int = 1) -> None:
        """A node process of `job` (or of the next parallel job) is killed while in `mini_batch`."""
        with self._lock:
            self._node_kills[job] = NodeKill(mini_batch, times)

    # Read by the server and the job runner.

    def http_error(self, request: Request, route: Route) -> ServiceError | None:
        with self._lock:
            for action, path in self._forbidden:
                if action in route.action.lower() and (path is None or path.lower() in request.path.lower()):
                    return ServiceError(
                        403,
                        "AuthorizationFailed",
                        f"The client '{CLIENT_ID}' with object id '{OBJECT_ID}' does not have "
                        f"authorization to perform action '{route.action}' over scope "
                        f"'{request.path}' or the scope is invalid. If access was recently granted, "
                        "please refresh your credentials.",
                    )
            for fault in self._http:
                if fault.matches(request) and fault.remaining != 0:
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault.error
        return None

    def job_failure(self, job: str) -> str | None:
        with self._lock:
            return self._failing_jobs.pop(job, None) or self._failing_jobs.pop("*", None)

    def node_kill(self, job: str) -> NodeKill | None:
        with self._lock:
            return self._node_kills.pop(job, None) or self._node_kills.pop("*", None)
