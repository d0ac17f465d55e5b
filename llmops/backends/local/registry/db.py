"""The local registry's SQLite database: WAL, a busy timeout, one connection per call site.

WAL lets readers work while one process writes; the busy timeout makes a second CLI command wait for
the first one's write instead of failing, so two commands on the same state never corrupt it. A full
disk is raised as DiskFull naming the database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from llmops.backends.local.disk_full import full_disk_named

SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    name TEXT NOT NULL, version INTEGER NOT NULL, sha256 TEXT NOT NULL, path TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '', rows INTEGER NOT NULL DEFAULT 0, registered_at TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, name TEXT NOT NULL, use_case TEXT NOT NULL, env TEXT NOT NULL,
    kind TEXT NOT NULL, flow TEXT NOT NULL, variant TEXT NOT NULL, variant_label TEXT NOT NULL,
    dataset TEXT NOT NULL, dataset_version INTEGER NOT NULL, parent_run_id TEXT,
    status TEXT NOT NULL, lines_total INTEGER NOT NULL, lines_failed INTEGER NOT NULL DEFAULT 0,
    metrics TEXT NOT NULL DEFAULT '{}', key TEXT NOT NULL, created_at TEXT NOT NULL, finished_at TEXT
);
CREATE TABLE IF NOT EXISTS run_lines (
    run_id TEXT NOT NULL, idx INTEGER NOT NULL, inputs TEXT NOT NULL, outputs TEXT NOT NULL,
    aggregation_inputs TEXT NOT NULL DEFAULT '{}', error TEXT, seconds REAL NOT NULL,
    PRIMARY KEY (run_id, idx)
);
CREATE TABLE IF NOT EXISTS run_sets (
    set_id TEXT PRIMARY KEY, use_case TEXT NOT NULL, env TEXT NOT NULL, kind TEXT NOT NULL,
    run_ids TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS models (
    name TEXT NOT NULL, version INTEGER NOT NULL, sha256 TEXT NOT NULL, snapshot TEXT NOT NULL,
    lineage TEXT NOT NULL, registered_at TEXT NOT NULL, PRIMARY KEY (name, version)
);
"""


_READY: set[Path] = set()  # databases whose schema this process has already ensured


def registry_path(state_dir: Path) -> Path:
    return state_dir / "registry.sqlite"


@contextmanager
def connect(state_dir: Path) -> Iterator[sqlite3.Connection]:
    path = registry_path(state_dir)
    with full_disk_named(path):
        state_dir.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.row_factory = sqlite3.Row
            if path not in _READY:
                conn.execute("PRAGMA journal_mode=WAL")  # persistent: once per database is enough
                conn.executescript(SCHEMA)
                _READY.add(path)
            yield conn
        finally:
            conn.close()


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE takes the write lock up front, so read-then-write sequences cannot interleave.

    On some errors (a full disk) SQLite has already rolled back; a ROLLBACK then fails with "no
    transaction is active" and would hide the error that matters, so only an open one is rolled back,
    and a failing rollback never replaces the first error.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
