"""Shadow traffic: a copy of a live request runs on the mirror deployment after the live answer is sent.

Copies are tasks on the server's event loop, at most `max_pending` at once, so a slow shadow never delays
live requests; past that a copy is dropped (and counted) rather than queued without bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


class Mirror:
    def __init__(self, max_pending: int = 64) -> None:
        self.max_pending = max_pending
        self._tasks: set[asyncio.Task[None]] = set()
        self.dropped = 0

    def submit(self, deployment: str, copy: Callable[[], Awaitable[None]]) -> bool:
        """Start `copy` (one request on `deployment`) on the running loop; False when dropped."""
        if len(self._tasks) >= self.max_pending:
            self.dropped += 1
            logger.warning("mirror to %s dropped: %d copies already pending", deployment, self.dropped)
            return False
        task = asyncio.get_running_loop().create_task(self._guarded(deployment, copy))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    @staticmethod
    async def _guarded(deployment: str, copy: Callable[[], Awaitable[None]]) -> None:
        try:
            await copy()
        except Exception:  # a shadow failure must never reach a live request
            logger.exception("mirror request to %s failed", deployment)

    async def drain(self, timeout: float) -> None:
        """Let the copies in flight finish (the server is stopping), cancelling those still running after `timeout`."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
