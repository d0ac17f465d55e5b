"""An exclusive lock on a file, held across processes.

Two checkouts share one models directory, and two commands of one checkout share one state
directory: without a lock both would assemble the same 1.1 GB file, start two servers, or run the
same run twice. The lock is `filelock`'s OS lock (flock on POSIX, msvcrt on Windows), so a holder
that dies (even by SIGKILL) releases it. The holder writes its pid into the file once it holds it
(filelock truncates only after acquiring), so a process that has to wait can say for whom.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

logger = logging.getLogger(__name__)


def _log_wait(path: Path, holder: str) -> None:
    logger.info("waiting for another process%s to release %s", f" (pid {holder})" if holder else "", path)


@contextmanager
def exclusive_lock(path: Path, on_wait: Callable[[Path, str], None] = _log_wait) -> Iterator[None]:
    """Block until this process holds the lock at `path` (created if missing); release on exit.

    When another process holds it, `on_wait(path, holder pid or "")` is called once before waiting.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not re-entrant across threads: each call is its own holder, as each process is.
    lock = FileLock(path, thread_local=False, is_singleton=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        on_wait(path, _holder(path))
        lock.acquire()
    try:
        path.write_text(f"{os.getpid()}\n", encoding="ascii")
        yield
    finally:
        lock.release()


def _holder(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):  # being rewritten, or locked against reading (Windows)
        return ""
