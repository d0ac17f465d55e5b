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

The key is never a setting: it is the value of the variable KEY_ENV (endpoint_key.py), read once and
removed from the environment, and a server that listens anywhere but loopback refuses to start without it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from llmops.errors import LlmopsError
from llmops.serving.endpoint_key import KEY_ENV, MAKE_ONE, EndpointKey, check_key_value

ENV_PREFIX = "LLMOPS_ENDPOINT_"
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
