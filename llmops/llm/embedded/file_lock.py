"""An exclusive lock on a file, held across processes.

Two checkouts share one models directory, and two commands of one checkout share one state
directory: without a lock both would assemble the same 1.1 GB file, or start two servers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Block until this process holds the lock at `path` (created if missing); release on exit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(descriptor, path)
        try:
            yield
        finally:
            _release(descriptor)
    finally:
        os.close(descriptor)


try:
    import fcntl

    def _acquire(descriptor: int, path: Path) -> None:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("waiting for another process to release %s", path)
            fcntl.flock(descriptor, fcntl.LOCK_EX)

    def _release(descriptor: int) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_UN)

except ImportError:  # Windows: msvcrt locks a byte range; LK_LOCK retries for 10 s, so loop.
    import msvcrt

    def _acquire(descriptor: int, path: Path) -> None:
        while True:
            try:
                msvcrt.locking(descriptor, msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]
                return
            except OSError:
                logger.info("waiting for another process to release %s", path)

    def _release(descriptor: int) -> None:
        os.lseek(descriptor, 0, os.SEEK_SET)
        msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
