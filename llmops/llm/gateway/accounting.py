"""One row per LLM call in the `llm_calls` table, written by a background thread in batches."""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import NamedTuple

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL,
    run TEXT NOT NULL,
    variant TEXT NOT NULL,
    flow TEXT NOT NULL,
    node TEXT NOT NULL,
    line INTEGER,
    connection TEXT NOT NULL,
    upstream TEXT NOT NULL,
    model TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    cache TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    status INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    request_hash TEXT NOT NULL,
    error TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS llm_calls_run ON llm_calls (run, variant);
"""
_BATCH = 500
# Commit at most this often: one commit per call would cost more CPU than the call itself.
_COMMIT_INTERVAL_SECONDS = 0.05


class CallRecord(NamedTuple):
    """One call; a NamedTuple so the writer inserts it as it is, with no conversion per row."""

    ts: str  # ISO 8601, UTC
    run: str
    variant: str
    flow: str
    node: str
    line: int | None
    connection: str
    upstream: str
    model: str
    endpoint: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    cache: str  # hit | miss | replay | record
    attempts: int  # upstream attempts (0 when served from cache or cassette)
    status: int  # HTTP status the gateway answered
    cost_usd: float  # money spent upstream by this call (0 for hits and replays)
    request_hash: str
    error: str


_COLUMNS = list(CallRecord._fields)
_INSERT = f"INSERT INTO llm_calls ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"


def open_accounting_db(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    # A crash may lose the last few rows, never the file: WAL + NORMAL is the usual trade for a log.
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(_SCHEMA)
    return db


class AccountingWriter:
    """Queues records and inserts them from one thread, so a call never waits for SQLite."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._queue: queue.SimpleQueue[CallRecord | threading.Event | None] = queue.SimpleQueue()
        self._db = open_accounting_db(path)
        self._thread = threading.Thread(target=self._run, name="llmops-gateway-accounting", daemon=True)
        self._thread.start()

    def record(self, call: CallRecord) -> None:
        self._queue.put(call)

    def flush(self) -> None:
        """Return once every record queued so far is committed."""
        done = threading.Event()
        self._queue.put(done)
        done.wait()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._db.close()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch: list[CallRecord] = []
            waiters: list[threading.Event] = []
            item = self._queue.get()
            while True:
                if item is None:
                    stopping = True
                elif isinstance(item, threading.Event):
                    waiters.append(item)
                else:
                    batch.append(item)
                if stopping or len(batch) >= _BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                try:
                    with self._db:
                        self._db.executemany(_INSERT, batch)
                except sqlite3.Error:
                    logger.exception("could not write %d LLM call records to %s", len(batch), self.path)
            for waiter in waiters:
                waiter.set()
            if not stopping and not waiters:
                time.sleep(_COMMIT_INTERVAL_SECONDS)
