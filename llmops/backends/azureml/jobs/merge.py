"""What a finished job brings back, merged into this machine's state: lines into the run registry, LLM calls
into the state's llm_calls.sqlite (the report reads both), exactly as if the lines had run here.

Merging is safe to repeat: a line is kept by its index, and a succeeded line is never replaced by a failed
one (jobs of the same runs may be merged in any order, on any machine). A job's calls are added once: the
job's name is recorded in the same transaction (table merged_jobs).
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.backends.azureml.jobs.pipeline import ACCOUNTING, RESULTS, ROWS_FILE
from llmops.backends.local.engine.run_execution import Begun
from llmops.backends.protocols import RunRegistry
from llmops.backends.types import LineOutcome
from llmops.llm.gateway.accounting import CallRecord, open_accounting_db

logger = logging.getLogger(__name__)
_INSERT = (f"INSERT INTO llm_calls ({', '.join(CallRecord._fields)}) "
           f"VALUES ({', '.join('?' for _ in CallRecord._fields)})")


@dataclass(frozen=True)
class JobOutputs:
    rows: list[dict[str, Any]]  # one per line the job ran
    call_files: list[Path]  # each worker's LLM calls


def download(client: Any, name: str, folder: Path) -> JobOutputs:
    """The job's two outputs, downloaded into `folder` (azure-ai-ml puts them under named-outputs/)."""
    for output in (RESULTS, ACCOUNTING):
        client.jobs.download(name, download_path=str(folder), output_name=output)
    outputs = folder / "named-outputs"
    rows_file = outputs / RESULTS / ROWS_FILE
    text = rows_file.read_text(encoding="utf-8") if rows_file.is_file() else ""
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return JobOutputs(rows, sorted((outputs / ACCOUNTING).glob("*.jsonl")))


def merge_lines(registry: RunRegistry, runs: list[Begun], rows: list[dict[str, Any]]) -> dict[str, list[LineOutcome]]:
    """Save each run's rows as its lines; returns the lines merged per run id (rows of other runs are ignored)."""
    by_run: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for row in rows:
        kept = by_run[row["run"]].get(int(row["index"]))
        if kept is None or kept.get("error") or not row.get("error"):  # a success is never replaced by a failure
            by_run[row["run"]][int(row["index"])] = row
    merged = {}
    for begun in runs:
        run_id = begun.record.run_id
        inputs = dict(begun.run.spec.rows)
        succeeded, _ = registry.line_states(run_id)
        outcomes = [LineOutcome(index, inputs[index], row.get("outputs") or {}, row.get("error"),
                                float(row.get("seconds") or 0.0), row.get("aggregation_inputs"))
                    for index, row in sorted(by_run.get(run_id, {}).items())
                    if index in inputs and not (row.get("error") and index in succeeded)]
        registry.save_lines(run_id, outcomes)
        merged[run_id] = outcomes
    return merged


def merge_calls(accounting_db: Path, job: str, call_files: list[Path]) -> Counter[str] | None:
    """Add the job's LLM calls to the state's accounting; returns them by outcome (hit, miss, replay, record), or
    None when they were added before."""
    db = open_accounting_db(accounting_db)
    try:
        db.execute("CREATE TABLE IF NOT EXISTS merged_jobs (job TEXT PRIMARY KEY, calls INTEGER NOT NULL)")
        with db:
            if db.execute("SELECT 1 FROM merged_jobs WHERE job=?", (job,)).fetchone():
                return None
            calls = [CallRecord(**json.loads(line)) for path in call_files
                     for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            db.executemany(_INSERT, calls)
            db.execute("INSERT INTO merged_jobs VALUES (?, ?)", (job, len(calls)))
        return Counter(call.cache for call in calls)
    finally:
        db.close()


def was_merged(accounting_db: Path, job: str) -> bool:
    if not accounting_db.is_file():
        return False
    db = open_accounting_db(accounting_db)
    try:
        db.execute("CREATE TABLE IF NOT EXISTS merged_jobs (job TEXT PRIMARY KEY, calls INTEGER NOT NULL)")
        return db.execute("SELECT 1 FROM merged_jobs WHERE job=?", (job,)).fetchone() is not None
    finally:
        db.close()
