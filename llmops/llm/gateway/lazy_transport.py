"""An upstream started on its first call: the embedded model costs nothing to a run that needs no answer.

A fully reused experiment, or one answered from the response cache, never calls the upstream, so
starting a local model server for it only makes the run slower (about 3 s of a 5 s rerun). The first
call starts it, once, and every later call goes straight through; a start that failed fails every
call with its message instead of being retried line after line.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from llmops.errors import LlmopsError
from llmops.llm.gateway.http_transport import open_transport
from llmops.llm.gateway.translate import UpstreamRequest
from llmops.llm.gateway.transport import Transport, UpstreamResponse


class LazyTransport:
    def __init__(self, start: Callable[[], str], keep_alive: int = 16) -> None:
        self._start = start
        self._keep_alive = keep_alive
        self._inner: Transport | None = None
        self._failure: LlmopsError | None = None
        self._lock = threading.Lock()

    def send(self, request: UpstreamRequest, timeout_s: float) -> UpstreamResponse:
        return self._transport().send(request, timeout_s)

    def _transport(self) -> Transport:
        with self._lock:  # calls that arrive while the upstream starts wait for it
            if self._inner is None and self._failure is None:
                try:
                    self._inner = open_transport(self._start(), self._keep_alive)
                except LlmopsError as error:
                    self._failure = error
                except Exception as error:  # the gateway turns an LlmopsError into the line's error message
                    self._failure = LlmopsError(f"the upstream could not start: {type(error).__name__}: {error}")
            if self._failure is not None:
                raise self._failure
            assert self._inner is not None
            return self._inner

    @property
    def started(self) -> bool:
        return self._inner is not None

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()
