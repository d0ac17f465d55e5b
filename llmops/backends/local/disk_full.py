"""A full disk while a command writes its state: one message naming the file and what to do.

SQLite reports a full disk (ENOSPC) as SQLITE_FULL and rolls the transaction back itself. A write
past a file size limit (EFBIG) or a quota (EDQUOT) reaches SQLite as a plain write error,
SQLITE_IOERR_WRITE, which no longer says which of those (or a failing disk) it was. Plain file
writes raise OSError with the errno.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from llmops.errors import LlmopsError

_NO_ROOM_ERRNOS = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}
_WHAT_TO_DO = "free space and run the command again; finished lines are kept"


class DiskFull(LlmopsError):
    """No room left to write the state (registry, snapshots) of a run."""

    def __init__(self, path: Path, sure: bool = True) -> None:
        what = (f"disk full writing {path}" if sure else
                f"could not write {path} (disk I/O error: the disk is full, over its quota or failing)")
        super().__init__(f"{what}: {_WHAT_TO_DO}")
        self.path = path


@contextmanager
def full_disk_named(path: Path) -> Iterator[None]:
    """Turn running out of room inside the block into DiskFull naming `path` (or the file the OS names)."""
    try:
        yield
    except sqlite3.Error as exc:
        code = getattr(exc, "sqlite_errorcode", None)
        if code == sqlite3.SQLITE_FULL:
            raise DiskFull(path) from exc
        if code == sqlite3.SQLITE_IOERR_WRITE:
            raise DiskFull(path, sure=False) from exc
        raise
    except OSError as exc:
        if exc.errno in _NO_ROOM_ERRNOS:
            raise DiskFull(Path(exc.filename) if exc.filename else path) from exc
        raise
