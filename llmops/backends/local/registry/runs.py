"""Runs and their lines in the local registry. A run is keyed by its content hash, so an unchanged
run is found and reused, and a run interrupted half way keeps the lines it finished (statuses: see
llmops/backends/types.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmops.backends.local.disk_full import full_disk_named
from llmops.backends.local.registry.db import connect, registry_path, transaction
from llmops.backends.types import COMPLETED, INCOMPLETE, RUNNING, LineOutcome, RunRecord


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _record(row: Any) -> RunRecord:
    key = json.loads(row["key"])
    return RunRecord(
        run_id=row["run_id"], name=row["name"], use_case=row["use_case"], env=row["env"], kind=row["kind"],
        flow=row["flow"], variant=json.loads(row["variant"]), variant_label=row["variant_label"],
        dataset=row["dataset"], dataset_version=row["dataset_version"], parent_run_id=row["parent_run_id"],
        status=row["status"], lines_total=row["lines_total"], lines_failed=row["lines_failed"],
        metrics=json.loads(row["metrics"]), created_at=row["created_at"], finished_at=row["finished_at"],
        trial=_trial(key), data_sha256=str(key.get("data", "")),
    )


def _trial(key: dict[str, Any]) -> int:
    """The run's repeated trial, from its content key (which holds it from trial 1 on; see run_key)."""
    value = key.get("trial", 0)
    return value if isinstance(value, int) else 0


def get_run(state_dir: Path, run_id: str) -> RunRecord | None:
    with connect(state_dir) as conn:
        row = conn.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
    return _record(row) if row else None


def start_run(state_dir: Path, record: RunRecord, key: dict[str, Any]) -> RunRecord:
    """Create the run if new; an existing run (same content key) is marked running again and returned."""
    with connect(state_dir) as conn, transaction(conn):
        row = conn.execute("SELECT * FROM runs WHERE run_id=?", (record.run_id,)).fetchone()
        if row is not None:
            conn.execute("UPDATE runs SET status=?, finished_at=NULL WHERE run_id=?", (RUNNING, record.run_id))
            return _record(row)
        conn.execute(
            "INSERT INTO runs (run_id, name, use_case, env, kind, flow, variant, variant_label, dataset, "
            "dataset_version, parent_run_id, status, lines_total, lines_failed, metrics, key, created_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (record.run_id, record.name, record.use_case, record.env, record.kind, record.flow,
             json.dumps(record.variant, sort_keys=True), record.variant_label, record.dataset,
             record.dataset_version, record.parent_run_id, RUNNING, record.lines_total, 0, "{}",
             json.dumps(key, sort_keys=True), _now()),
        )
    return record


def line_states(state_dir: Path, run_id: str) -> tuple[set[int], set[int]]:
    """(indexes of the lines that succeeded, of those that failed): the failed ones are run again."""
    with connect(state_dir) as conn:
        rows = conn.execute("SELECT idx, error IS NULL FROM run_lines WHERE run_id=?", (run_id,)).fetchall()
    return {r[0] for r in rows if r[1]}, {r[0] for r in rows if not r[1]}


def save_lines(state_dir: Path, run_id: str, outcomes: list[LineOutcome]) -> None:
    if not outcomes:
        return
    with connect(state_dir) as conn, transaction(conn):
        conn.executemany(
            "INSERT OR REPLACE INTO run_lines VALUES (?,?,?,?,?,?,?)",
            [(run_id, o.index, json.dumps(o.inputs, default=str), json.dumps(o.outputs, default=str),
              json.dumps(o.aggregation_inputs or {}, default=str), o.error, o.seconds) for o in outcomes],
        )


class LineWriter:
    """Saves finished lines in small batches on one connection: a per-line transaction would cost more
    than running a python-only line. A batch is at most `max_lines` lines or `max_seconds` old, so a
    hard kill loses at most that much; close() (also on Ctrl-C) saves the rest."""

    def __init__(self, state_dir: Path, run_id: str, max_lines: int = 200, max_seconds: float = 0.5) -> None:
        import time

        self._clock = time.monotonic
        self._path = registry_path(state_dir)
        self._context = connect(state_dir)
        self._conn = self._context.__enter__()
        self._run_id = run_id
        self._pending: list[LineOutcome] = []
        self._max_lines, self._max_seconds = max_lines, max_seconds
        self._last_flush = self._clock()

    def add(self, outcome: LineOutcome) -> None:
        self._pending.append(outcome)
        if len(self._pending) >= self._max_lines or self._clock() - self._last_flush >= self._max_seconds:
            self.flush()

    def flush(self) -> None:
        self._last_flush = self._clock()
        if not self._pending:
            return
        rows = [(self._run_id, o.index, json.dumps(o.inputs, default=str), json.dumps(o.outputs, default=str),
                 json.dumps(o.aggregation_inputs or {}, default=str), o.error, o.seconds) for o in self._pending]
        with full_disk_named(self._path), transaction(self._conn):
            self._conn.executemany("INSERT OR REPLACE INTO run_lines VALUES (?,?,?,?,?,?,?)", rows)
        self._pending = []

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._context.__exit__(None, None, None)


def lines(state_dir: Path, run_id: str) -> list[LineOutcome]:
    with connect(state_dir) as conn:
        rows = conn.execute("SELECT * FROM run_lines WHERE run_id=? ORDER BY idx", (run_id,)).fetchall()
    return [LineOutcome(r["idx"], json.loads(r["inputs"]), json.loads(r["outputs"]), r["error"], r["seconds"],
                        json.loads(r["aggregation_inputs"])) for r in rows]


def finish_run(state_dir: Path, run_id: str, metrics: dict[str, Any]) -> RunRecord:
    """Completed when every line succeeded; else incomplete, so the next execution retries the failed lines."""
    with connect(state_dir) as conn, transaction(conn):
        failed = conn.execute("SELECT COUNT(*) FROM run_lines WHERE run_id=? AND error IS NOT NULL",
                              (run_id,)).fetchone()[0]
        conn.execute("UPDATE runs SET status=?, lines_failed=?, metrics=?, finished_at=? WHERE run_id=?",
                     (INCOMPLETE if failed else COMPLETED, failed, json.dumps(metrics, sort_keys=True, default=str),
                      _now(), run_id))
        row = conn.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
    return _record(row)


def record_run_set(state_dir: Path, kind: str, use_case: str, env: str, run_ids: list[str]) -> str:
    """Remember which runs made up the latest experiment (or evaluation) of a use case and env."""
    set_id = f"{use_case}:{env}:{kind}:{_now()}:{'|'.join(run_ids)}"
    with connect(state_dir) as conn, transaction(conn):
        conn.execute("INSERT OR REPLACE INTO run_sets VALUES (?,?,?,?,?,?)",
                     (set_id, use_case, env, kind, json.dumps(run_ids), _now()))
    return set_id


def latest_run_set(state_dir: Path, kind: str, use_case: str, env: str) -> list[str] | None:
    with connect(state_dir) as conn:
        row = conn.execute("SELECT run_ids FROM run_sets WHERE use_case=? AND env=? AND kind=? "
                           "ORDER BY rowid DESC LIMIT 1", (use_case, env, kind)).fetchone()
    return json.loads(row["run_ids"]) if row else None


def child_runs(state_dir: Path, parent_run_id: str, kind: str) -> list[RunRecord]:
    with connect(state_dir) as conn:
        rows = conn.execute("SELECT * FROM runs WHERE parent_run_id=? AND kind=? AND status IN (?, ?) "
                            "ORDER BY created_at, rowid", (parent_run_id, kind, COMPLETED, INCOMPLETE)).fetchall()
    return [_record(r) for r in rows]


@dataclass(frozen=True)
class LocalRunRegistry:
    """The RunRegistry protocol (llmops/backends/protocols.py) on the state directory's database."""

    state_dir: Path

    def get_run(self, run_id: str) -> RunRecord | None:
        return get_run(self.state_dir, run_id)

    def start_run(self, record: RunRecord, key: dict[str, Any]) -> RunRecord:
        return start_run(self.state_dir, record, key)

    def line_states(self, run_id: str) -> tuple[set[int], set[int]]:
        return line_states(self.state_dir, run_id)

    def save_lines(self, run_id: str, outcomes: list[LineOutcome]) -> None:
        save_lines(self.state_dir, run_id, outcomes)

    def line_writer(self, run_id: str) -> LineWriter:
        return LineWriter(self.state_dir, run_id)

    def lines(self, run_id: str) -> list[LineOutcome]:
        return lines(self.state_dir, run_id)

    def finish_run(self, run_id: str, metrics: dict[str, Any]) -> RunRecord:
        return finish_run(self.state_dir, run_id, metrics)

    def record_run_set(self, kind: str, use_case: str, env: str, run_ids: list[str]) -> str:
        return record_run_set(self.state_dir, kind, use_case, env, run_ids)

    def latest_run_set(self, kind: str, use_case: str, env: str) -> list[str] | None:
        return latest_run_set(self.state_dir, kind, use_case, env)

    def child_runs(self, parent_run_id: str, kind: str) -> list[RunRecord]:
        return child_runs(self.state_dir, parent_run_id, kind)
