"""A worker's LLM accounting, out of its gateway's SQLite file and into the job's accounting output.

The gateway keeps its `llm_calls` table in a file on the node's local disk (SQLite wants a real file
system, not a mounted blob container). After each mini-batch the rows added since the last export are
appended, as JSON lines, to this worker's own file in the job's accounting output; the executor merges every
worker's file into the state's llm_calls.sqlite, which the report reads. A mini-batch whose process died is
run again, and its calls are counted again: they were really made.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

from llmops.llm.gateway.accounting import CallRecord

_COLUMNS = ", ".join(CallRecord._fields)


class AccountingExport:
    def __init__(self, db_path: Path, output_dir: Path) -> None:
        self.db_path = db_path
        output_dir.mkdir(parents=True, exist_ok=True)
        self.target = output_dir / f"calls-{uuid.uuid4().hex}.jsonl"  # one file per worker process: no sharing
        self._last_id = 0

    def export(self) -> int:
        """Append the rows added since the last export; returns how many."""
        if not self.db_path.is_file():
            return 0
        with sqlite3.connect(self.db_path) as db:
            rows = db.execute(f"SELECT id, {_COLUMNS} FROM llm_calls WHERE id > ? ORDER BY id",
                              (self._last_id,)).fetchall()
        if not rows:
            return 0
        with self.target.open("a", encoding="utf-8") as out:
            out.write("".join(json.dumps(dict(zip(CallRecord._fields, row[1:], strict=True))) + "\n" for row in rows))
        self._last_id = rows[-1][0]
        return len(rows)
