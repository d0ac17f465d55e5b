"""The decisions of canary watches (llmops/backends/canary.py), in the local registry, newest last."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmops.backends.canary import CanaryDecision
from llmops.backends.local.registry import db

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS canary_decisions (
    endpoint TEXT NOT NULL, seq INTEGER NOT NULL, canary TEXT NOT NULL, live TEXT NOT NULL, action TEXT NOT NULL,
    share_before INTEGER NOT NULL, share_after INTEGER NOT NULL, judge TEXT NOT NULL, reason TEXT NOT NULL,
    evidence TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (endpoint, seq)
)
"""


def record(state_dir: Path, decision: CanaryDecision) -> CanaryDecision:
    with db.connect(state_dir) as conn, db.transaction(conn):
        conn.execute(CREATE_TABLE)
        seq = (conn.execute("SELECT MAX(seq) FROM canary_decisions WHERE endpoint=?",
                            (decision.endpoint,)).fetchone()[0] or 0) + 1
        kept = replace(decision, seq=seq, created_at=datetime.now(UTC).isoformat(timespec="seconds"))
        conn.execute("INSERT INTO canary_decisions VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                     (kept.endpoint, kept.seq, kept.canary, kept.live, kept.action, kept.share_before,
                      kept.share_after, kept.judge, kept.reason, json.dumps(kept.evidence, sort_keys=True),
                      kept.created_at))
    return kept


def _decision(row: Any) -> CanaryDecision:
    return CanaryDecision(row["endpoint"], row["canary"], row["live"], row["action"], row["share_before"],
                          row["share_after"], row["judge"], row["reason"], json.loads(row["evidence"]), row["seq"],
                          row["created_at"])


def decisions(state_dir: Path, endpoint: str, limit: int | None = None) -> list[CanaryDecision]:
    """The endpoint's decisions, oldest first; with `limit`, the newest `limit` of them."""
    with db.connect(state_dir) as conn:
        conn.execute(CREATE_TABLE)
        rows = conn.execute("SELECT * FROM canary_decisions WHERE endpoint=? ORDER BY seq DESC LIMIT ?",
                            (endpoint, -1 if limit is None else limit)).fetchall()
    return [_decision(r) for r in reversed(rows)]
