"""Shadow traffic: a copy of a live request runs on the mirror deployment after the live answer is sent.

Copies run on a small pool of their own, so a slow shadow never delays live requests; when the pool
is full the copy is dropped (and counted) rather than queued without bound.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

logger = logging.getLogger(__name__)


class Mirror:
    def __init__(self, workers: int = 2, max_pending: int = 64) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mirror")
        self._slots = threading.BoundedSemaphore(max_pending)
        self.dropped = 0

    def submit(self, deployment: str, task: Callable[[], None]) -> bool:
        """Run `task` (the copy of one request on `deployment`) in the background; False when dropped."""
        if not self._slots.acquire(blocking=False):
            self.dropped += 1
            logger.warning("mirror to %s dropped: %d copies already pending", deployment, self.dropped)
            return False
        future = self._pool.submit(self._guarded, deployment, task)
        future.add_done_callback(lambda _: self._slots.release())
        return True

    @staticmethod
    def _guarded(deployment: str, task: Callable[[], None]) -> None:
        try:
            task()
        except Exception:  # a shadow failure must never reach a live request
            logger.exception("mirror request to %s failed", deployment)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
