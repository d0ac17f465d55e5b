"""An exclusive lock on a file, held across processes.

Two checkouts share one models directory, and two commands of one checkout share one state
directory: without a lock both would assemble the same 1.1 GB file, start two servers, or run the
same run twice. It is an OS lock, so a holder that dies (even by SIGKILL) releases it. The holder
writes its pid into the file, so a process that has to wait can say for whom.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)


def _log_wait(path: Path, holder: str) -> None:
    logger.info("waiting for another process%s to release %s", f" (pid {holder})" if holder else "", path)


@contextmanager
def exclusive_lock(path: Path, on_wait: Callable[[Path, str], None] = _log_wait) -> Iterator[None]:
    """Block until this process holds the lock at `path` (created if missing); release on exit.

    When another process holds it, `on_wait(path, holder pid or "")` is called once before waiting.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_acquire(descriptor):
            on_wait(path, _holder(path))
            _acquire(descriptor)
        try:
            _write_pid(descriptor)
            yield
        finally:
            _release(descriptor)
    finally:
        os.close(descriptor)


def _holder(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):  # being rewritten, or locked against reading (Windows)
        return ""


def _write_pid(descriptor: int) -> None:
    os.ftruncate(descriptor, 0)
    os.lseek(descriptor, 0, os.SEEK_SET)
    os.write(descriptor, f"{os.getpid()}\n".encode("ascii"))


try:
    import fcntl

    def _try_acquire(descriptor: int) -> bool:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _acquire(descriptor: int) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_EX)

    def _release(descriptor: int) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_UN)

except ImportError:  # Windows: msvcrt locks a byte range; LK_LOCK retries for 10 s, so loop.
    import msvcrt

    def _try_acquire(descriptor: int) -> bool:
        os.lseek(descriptor, 0, os.SEEK_SET)
        try:
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True

    def _acquire(descriptor: int) -> None:
        while True:
            os.lseek(descriptor, 0, os.SEEK_SET)
            try:
                msvcrt.locking(descriptor, msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]
                return
            except OSError:
                continue

    def _release(descriptor: int) -> None:
        os.lseek(descriptor, 0, os.SEEK_SET)
        msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
