"""server.log: the endpoint server's own log, rotated by size; and what it says about one request.

The server's stderr goes there too (process.py starts it so): a crash before logging is set up, a
library's print. Each file the handler opens becomes the process's stderr as well, so that output
lands in the current file and is rotated with it instead of growing a rotated file forever.

A server with several worker processes (workers.py) keeps one server.log: the parent rotates it, and each worker
writes to whatever file the path names at the moment (it reopens the file once the parent has rotated it away),
so no worker's lines land in a rotated file or one deleted since.
"""

from __future__ import annotations

import logging
import os
from logging.handlers import RotatingFileHandler, WatchedFileHandler
from pathlib import Path

MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _StderrFollows(RotatingFileHandler):
    def _open(self):  # type: ignore[no-untyped-def]  # typeshed's signature differs across Python versions
        stream = super()._open()
        os.dup2(stream.fileno(), 2)
        return stream


class _WorkerStderrFollows(WatchedFileHandler):
    def _open(self):  # type: ignore[no-untyped-def]  # as above
        stream = super()._open()
        os.dup2(stream.fileno(), 2)
        return stream


def follow_in_worker() -> None:
    """In a worker forked from a process that log_to set up: write to the same path without rotating it."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _StderrFollows):
            follower = _WorkerStderrFollows(handler.baseFilename, encoding="utf-8", errors="backslashreplace")
            follower.setFormatter(handler.formatter)
            root.removeHandler(handler)
            root.addHandler(follower)


def log_to(path: Path, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> None:
    """Send this process's logging, and its stderr, to `path`, rotated past `max_bytes` (`backups` kept)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = _StderrFollows(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8",
                             errors="backslashreplace")
    handler.setFormatter(logging.Formatter(FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def request_detail(path: Path, request_id: str) -> str | None:
    """The first line server.log holds about request `request_id` (after the id), newest file first."""
    marker = f"request {request_id}: "
    for file in (path, path.with_name(f"{path.name}.1")):
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            continue
        for line in text.splitlines():
            if marker in line:
                return line.split(marker, 1)[1]
    return None
