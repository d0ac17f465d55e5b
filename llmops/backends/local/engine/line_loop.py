"""Single lines for many calling threads, run on one event loop and one node pool (the endpoint server).

Prompt flow's sync line API starts a thread pool per line. A server answering from several worker
threads at once pays that on every request, and under load each thread start waits for the GIL;
measured on the endpoint benchmark, that made a request about 50 ms at 100 concurrent clients. Here the
worker threads hand their line to one loop thread and wait for its outcome instead.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from llmops.backends.local.engine.line_runner import LineRunner
from llmops.backends.local.engine.node_pool import NodePool
from llmops.backends.types import LineOutcome

# Node threads per calling thread: enough for flows whose nodes run a few at a time; more queue, never deadlock.
NODE_THREADS_PER_CALLER = 4


class LineLoop:
    def __init__(self, callers: int) -> None:
        self._loop = asyncio.new_event_loop()
        self._pool = NodePool(max(1, callers) * NODE_THREADS_PER_CALLER)
        self._thread = threading.Thread(target=self._loop.run_forever, name="llmops-lines", daemon=True)
        self._thread.start()

    def run_line(self, runner: LineRunner, index: int, inputs: dict[str, Any]) -> LineOutcome:
        """Run one line of `runner` and wait for its outcome (called from any thread but the loop's)."""
        # The flow is loaded here, in the caller's thread: a slow first load blocks no other line.
        runner.load()
        runner.use_node_pool(self._pool)
        return asyncio.run_coroutine_threadsafe(runner.run_line_async(index, inputs), self._loop).result()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=False)
