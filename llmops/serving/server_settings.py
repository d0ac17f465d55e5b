"""How the endpoint server listens and what it bounds: host, key, request limits, probe paths.

The same server runs on loopback under `llmops endpoint up` and on every interface in the serving image,
so each setting has a default here, may come from the env's local_endpoint block (the body limit) or a
server option, and may be overridden by an environment variable (how an image or Azure ML deployment
configures it: ENVIRONMENT_VARIABLES of deployment_config.json, app settings of a web app):

    LLMOPS_ENDPOINT_MAX_BODY_BYTES     a larger body is answered 413 before it is read
    LLMOPS_ENDPOINT_MAX_HEADER_BYTES   request line and headers; larger is answered 431
    LLMOPS_ENDPOINT_RECEIVE_TIMEOUT_S  a request must arrive whole within this of its first byte
    LLMOPS_ENDPOINT_IDLE_TIMEOUT_S     a connection without a request is closed after this
    LLMOPS_ENDPOINT_REQUEST_TIMEOUT_S  a flow that runs longer is answered 504
    LLMOPS_ENDPOINT_MAX_IN_FLIGHT      POST /score requests served at once; past it 503 with Retry-After
    LLMOPS_ENDPOINT_RETRY_AFTER_S      the Retry-After of that 503
    LLMOPS_ENDPOINT_LIVENESS_PATH      default /health (Azure ML: the deployment's liveness_route)
    LLMOPS_ENDPOINT_READINESS_PATH     default /ready (Azure ML: the deployment's readiness_route)

How many worker processes serve (workers.py) is WORKERS in the env's local_endpoint block, or LLMOPS_WORKERS
(which wins; the image's only way). Locally the default is 1; in the image, the CPUs the container may use
(image/server.py says why). LLMOPS_ENDPOINT_MAX_IN_FLIGHT is the whole server's bound, split across the workers.

The key is never a setting: it is the value of the variable KEY_ENV (endpoint_key.py), read once and
removed from the environment, and a server that listens anywhere but loopback refuses to start without it.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from llmops.errors import LlmopsError
from llmops.serving.endpoint_key import KEY_ENV, MAKE_ONE, EndpointKey, check_key_value

ENV_PREFIX = "LLMOPS_ENDPOINT_"
WORKERS_ENV = "LLMOPS_WORKERS"
MAX_WORKERS = 64
LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True)
class ServerLimits:
    max_body_bytes: int = 1024 * 1024
    max_header_bytes: int = 32 * 1024  # an Azure AD token in Authorization takes a few KiB
    receive_timeout_s: float = 20.0
    idle_timeout_s: float = 60.0
    request_timeout_s: float = 300.0  # the smoke test's client waits as long; an LLM flow may take minutes
    max_in_flight: int = 256
    retry_after_s: int = 1
    liveness_path: str = "/health"
    readiness_path: str = "/ready"
    # Said in a 413: where this endpoint's body limit is set (a config key, or the variable that overrode it).
    body_limit_source: str = "MAX_REQUEST_BODY_BYTES of the local_endpoint in deployment_config.json"

    def with_environment(self, environ: Mapping[str, str]) -> ServerLimits:
        """These limits with every LLMOPS_ENDPOINT_<NAME> variable set in `environ` applied."""
        changes: dict[str, Any] = {}
        for spec in fields(self):
            variable = ENV_PREFIX + spec.name.upper()
            raw = environ.get(variable, "").strip()
            if spec.name == "body_limit_source" or not raw:
                continue
            changes[spec.name] = _parse(variable, raw, type(getattr(self, spec.name)))
            if spec.name == "max_body_bytes":
                changes["body_limit_source"] = variable
        return replace(self, **changes) if changes else self

    def for_worker(self, worker: int, workers: int) -> ServerLimits:
        """Worker `worker`'s share of the requests in flight: the server's bound split so the shares sum to it
        (each takes at least one). Connections are not spread evenly by the kernel, so one worker may answer 503
        while another still has room: the bound is never exceeded, it may be reached early."""
        if workers <= 1:
            return self
        share = self.max_in_flight // workers + (1 if worker < self.max_in_flight % workers else 0)
        return replace(self, max_in_flight=max(1, share))


def _parse(variable: str, raw: str, kind: type) -> Any:
    if kind is str:
        if not raw.startswith("/"):
            raise LlmopsError(f"{variable}={raw!r} is not a path; give one starting with /, such as /health")
        return raw
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or value <= 0:
        what = "a whole number" if kind is int else "a number of seconds"
        raise LlmopsError(f"{variable}={raw!r} must be {what} above 0")
    return value


def worker_count(environ: Mapping[str, str], configured: int, shown_as: str) -> int:
    """LLMOPS_WORKERS when set, else `configured` (from `shown_as`, named when it is out of range)."""
    raw = environ.get(WORKERS_ENV, "").strip()
    if raw:
        value = _parse(WORKERS_ENV, raw, int)
        source = WORKERS_ENV
    else:
        value, source = configured, shown_as
    if not 1 <= value <= MAX_WORKERS:
        raise LlmopsError(f"{source}={value} must be from 1 to {MAX_WORKERS} worker processes")
    return int(value)


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity, bounded by a cgroup's CPU quota (a container's CPU limit,
    which the affinity does not show: a Kubernetes pod limited to 2 CPUs on a 16-core node sees 16)."""
    count = len(os.sched_getaffinity(0))
    for quota_file, period_file in (("/sys/fs/cgroup/cpu.max", None),
                                    ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us")):
        try:
            parts = Path(quota_file).read_text(encoding="ascii").split()
            if period_file is not None:
                parts.append(Path(period_file).read_text(encoding="ascii").strip())
        except OSError:
            continue
        if len(parts) >= 2 and parts[0] not in ("max", "-1"):
            count = min(count, max(1, math.ceil(int(parts[0]) / int(parts[1]))))
        break
    return count


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


@dataclass(frozen=True)
class Listen:
    host: str
    port: int
    key: EndpointKey | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not is_loopback(self.host) and self.key is None:
            raise LlmopsError(f"refusing to listen on {self.host} without a key: anyone who reaches it could call "
                              f"the flow; set {KEY_ENV} to a key (make one with: {MAKE_ONE}), or listen on "
                              "127.0.0.1")


def key_from_environment(environ: dict[str, str], shown_as: str = KEY_ENV) -> EndpointKey | None:
    """The key in KEY_ENV, removed from `environ` (the flows run in this environment); None when unset.

    `shown_as` is the variable a 401 tells the caller to take the key from (AUTH_KEY_VARIABLE locally)."""
    value = environ.pop(KEY_ENV, None)
    if not value:
        return None
    check_key_value(value, f"the endpoint key in {KEY_ENV}", KEY_ENV)
    return EndpointKey(shown_as, value)
