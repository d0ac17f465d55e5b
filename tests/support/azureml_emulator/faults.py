"""Faults on demand: what a test arms before it calls the SDK.

HTTP faults answer instead of the handler: 429 or 503 with `Retry-After` for the next N matching
requests, a 403 naming the role action and scope (worded as ARM words it, or as Key Vault's RBAC does
for a vault's routes), any other error in the service's shape (`fail`), or a connection closed
without an answer (`reset`). Job faults are read by the job runner: a job that fails, a node process
killed in the middle of a mini-batch. An online deployment whose provisioning fails is read by its route.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .credential import CLIENT_ID, OBJECT_ID  # the identity a 403 names: the test credential's
from .errors import ServiceError
from .http import Request
from .routing import Route


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
class _Reset:
    remaining: int
    path: str | None
    method: str | None


@dataclass
class NodeKill:
    mini_batch: int  # the index of the mini-batch during which a node process is killed
    times: int  # how many attempts of it die


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._http: list[_HttpFault] = []
        self._resets: list[_Reset] = []
        self._forbidden: list[tuple[str, str | None]] = []  # (action fragment, path fragment)
        self._failing_jobs: dict[str, str] = {}  # job name ("*" for the next one) -> error message
        self._node_kills: dict[str, NodeKill] = {}  # job name or "*" -> kill plan
        self._failing_deployments: dict[str, ServiceError] = {}  # online deployment name or "*" -> its failure

    def clear(self) -> None:
        with self._lock:
            self._http.clear()
            self._resets.clear()
            self._forbidden.clear()
            self._failing_jobs.clear()
            self._node_kills.clear()
            self._failing_deployments.clear()

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

    def fail(
        self,
        status: int,
        code: str,
        message: str,
        *,
        count: int | None = 1,
        path: str | None = None,
        method: str | None = None,
    ) -> None:
        """The next `count` matching requests (every one with None) get this error in the service's shape."""
        with self._lock:
            self._http.append(_HttpFault(ServiceError(status, code, message), count, path, method))

    def reset(self, count: int = 1, *, path: str | None = None, method: str | None = None) -> None:
        """The next `count` matching requests get no answer: the connection closes, as a reset one does."""
        with self._lock:
            self._resets.append(_Reset(count, path, method))

    def forbid(self, action: str = "", *, path: str | None = None) -> None:
        """Requests needing a role action containing `action` (on a path containing `path`) get a 403.

        The identity's permissions (`.../providers/Microsoft.Authorization/permissions`) leave the action
        out too, so what a caller reads there agrees with what it is refused.
        """
        with self._lock:
            self._forbidden.append((action.lower(), path))

    def forbidden_actions(self) -> list[str]:
        """The action fragments `forbid` was given, for the permissions route."""
        with self._lock:
            return [action for action, _ in self._forbidden]

    def fail_provisioning(
        self,
        deployment: str = "*",
        code: str = "ResourceNotReady",
        message: str = "User container has crashed or terminated: Liveness probe failed (injected by the test).",
    ) -> None:
        """The next create or update of online deployment `deployment` (or of any) ends Failed with this error."""
        with self._lock:
            self._failing_deployments[deployment.lower()] = ServiceError(400, code, message)

    def provisioning_failure(self, deployment: str) -> ServiceError | None:
        with self._lock:
            return self._failing_deployments.pop(deployment.lower(), None) or self._failing_deployments.pop("*", None)

    def fail_job(self, name: str = "*", message: str = "Execution failed: injected by the test.") -> None:
        """The job `name` (or the next job submitted) fails with `message` instead of running."""
        with self._lock:
            self._failing_jobs[name] = message

    def kill_node(self, job: str = "*", *, mini_batch: int = 0, times: int = 1) -> None:
        """A node process of `job` (or of the next parallel job) is killed while in `mini_batch`."""
        with self._lock:
            self._node_kills[job] = NodeKill(mini_batch, times)

    # Read by the server and the job runner.

    def drops(self, request: Request) -> bool:
        """True when this request is to get no answer (a `reset` fault matches it)."""
        with self._lock:
            for reset in self._resets:
                if reset.remaining > 0 and (reset.path is None or reset.path.lower() in request.path.lower()):
                    if reset.method is None or reset.method == request.method:
                        reset.remaining -= 1
                        return True
        return False

    def http_error(self, request: Request, route: Route) -> ServiceError | None:
        with self._lock:
            for action, path in self._forbidden:
                if action in route.action.lower() and (path is None or path.lower() in request.path.lower()):
                    return (route.denied or _arm_forbidden)(request, route.action)
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


def _arm_forbidden(request: Request, action: str) -> ServiceError:
    return ServiceError(
        403,
        "AuthorizationFailed",
        f"The client '{CLIENT_ID}' with object id '{OBJECT_ID}' does not have "
        f"authorization to perform action '{action}' over scope "
        f"'{request.path}' or the scope is invalid. If access was recently granted, "
        "please refresh your credentials.",
    )
