"""What the gateway's call pipeline sends through: a Transport, its response, and its one retryable error.

Implementations: http_transport.HttpTransport (urllib3; remote providers), loopback_transport.LoopbackTransport
(a lean client for upstreams on 127.0.0.1), simulated.SimulatedTransport (tests and benchmarks), and the
wrappers lazy_transport.LazyTransport and faults.FaultyTransport. `open_transport` in http_transport.py picks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from llmops.llm.gateway.translate import UpstreamRequest


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased


class UpstreamTransportError(Exception):
    """The upstream could not be reached or did not answer in time (retryable)."""


class Transport(Protocol):
    def send(self, request: UpstreamRequest, timeout_s: float) -> UpstreamResponse: ...

    def close(self) -> None: ...


def no_answer(timeout_s: float) -> UpstreamTransportError:
    """The error of an attempt that got no answer within its timeout (the retry layer retries it)."""
    return UpstreamTransportError(f"no answer within {timeout_s:g} s (timeout)")


def describe(error: BaseException) -> str:
    """The operating system's error under a client library's wrappers when there is one
    ("ConnectionRefusedError: [Errno 111] Connection refused"), else the error itself."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError):
            return f"{type(seen).__name__}: {seen}"
        seen = seen.__cause__ or seen.__context__
    return f"{type(error).__name__}: {error}"
