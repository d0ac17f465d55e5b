"""A response cache in one SQLite file: request key -> full response body."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    upstream TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL,
    response BLOB NOT NULL,
    created REAL NOT NULL
)
"""


class ResponseCache:
    """Thread safe; one connection guarded by a lock (lookups by primary key take microseconds)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # WAL + NORMAL: a commit does not wait for fsync, so a cache write costs well under a millisecond.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
        return bytes(row[0]) if row else None

    def put(self, key: str, upstream: str, endpoint: str, model: str, response: bytes) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, upstream, endpoint, model, response, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key, upstream, endpoint, model, response, time.time()),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
