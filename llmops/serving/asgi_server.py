"""Run an ASGI app with uvicorn (httptools, uvloop) on a socket already listening, until SIGTERM or SIGINT.

On a signal uvicorn stops accepting, lets the requests in flight finish (GRACE_S at most) and returns; then
`stopping` runs (mirror copies, the node pool, the logs) before the process exits. The app's own work starts
with `starting`, on the loop, while the server already answers liveness.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from llmops.serving.http_protocol import GuardedHttpToolsProtocol
from llmops.serving.server_settings import ServerLimits

logger = logging.getLogger(__name__)

GRACE_S = 25.0  # under process.STOP_TIMEOUT_S, after which `endpoint down` kills the process
SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _config(app: Any, limits: ServerLimits) -> Any:
    import uvicorn

    return uvicorn.Config(app, loop="uvloop", http=GuardedHttpToolsProtocol.with_limits(limits), ws="none",
                          lifespan="off", interface="asgi3", access_log=False, log_config=None,
                          timeout_keep_alive=int(max(1, limits.idle_timeout_s)), timeout_graceful_shutdown=int(GRACE_S),
                          server_header=False, proxy_headers=False)


class AsgiServer:
    """One uvicorn server on `sock`; `run` blocks until a signal (main thread) or `stop` (any thread)."""

    def __init__(self, app: Any, sock: socket.socket, limits: ServerLimits,
                 starting: Callable[[], Coroutine[Any, Any, None]],
                 stopping: Callable[[], Coroutine[Any, Any, None]]) -> None:
        import uvicorn

        self._server = uvicorn.Server(_config(app, limits))
        self._sock = sock
        self._starting = starting
        self._stopping = stopping

    def stop(self) -> None:
        self._server.should_exit = True

    async def _main(self) -> None:
        started: asyncio.Task[None] = asyncio.create_task(self._starting())
        try:
            await self._server.serve(sockets=[self._sock])
        finally:
            if not started.done():
                started.cancel()
            await self._stopping()

    def run(self) -> None:
        import uvloop

        # uvicorn raises the signal that stopped it again once it has shut down; these handlers take it, so the
        # process exits through `stopping` and its own cleanup rather than dying of it.
        main_thread = threading.current_thread() is threading.main_thread()
        previous = {sig: signal.signal(sig, lambda *_: None) for sig in SIGNALS} if main_thread else {}
        try:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(self._main())
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._sock.close()
