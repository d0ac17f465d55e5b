"""Queries over the accounting table: calls, tokens, cost, latency percentiles, cache hits."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.errors import NotFoundError, unknown_name

GROUP_COLUMNS = ("run", "variant", "flow", "node", "connection", "upstream", "model", "endpoint", "cache")


@dataclass(frozen=True)
class CallTotals:
    group: dict[str, str]  # the group_by columns and their values, e.g. {"run": "r1", "variant": "v0"}
    calls: int
    failed_calls: int  # calls the gateway answered with a status >= 400
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float
    p50_latency_ms: float
    p95_latency_ms: float
    cache_hits: int
    replays: int
    attempts: int  # upstream attempts, retries included


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); 0 for no values."""
    if not sorted_values:
        return 0.0
    position = (len(sorted_values) - 1) * share
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def call_totals(db_path: Path, group_by: Sequence[str] = ("run",), run: str | None = None) -> list[CallTotals]:
    """Totals per group (sorted by group values), optionally for one run only."""
    for column in group_by:
        if column not in GROUP_COLUMNS:
            raise unknown_name("accounting column", column, GROUP_COLUMNS)
    if not db_path.is_file():
        raise NotFoundError(f"no LLM accounting database at '{db_path}'; pass the accounting_path the gateway used")
    where, params = ("WHERE run = ?", (run,)) if run is not None else ("", ())
    columns = ", ".join(group_by) if group_by else "''"
    query = (
        f"SELECT {columns}, latency_ms, status, prompt_tokens, completion_tokens, cost_usd, cache, attempts "
        f"FROM llm_calls {where}"
    )
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    with sqlite3.connect(db_path) as db:
        for row in db.execute(query, params):
            width = max(len(group_by), 1)
            groups.setdefault(tuple(row[: len(group_by)]), []).append(row[width:])
    return [_summarise(dict(zip(group_by, key, strict=True)), rows) for key, rows in sorted(groups.items())]


def run_totals(db_path: Path, run: str) -> CallTotals:
    """Totals of one run; zero calls when the run made none (a flow without LLM nodes)."""
    found = call_totals(db_path, group_by=("run",), run=run)
    return found[0] if found else _summarise({"run": run}, [])


def runs_totals(db_path: Path, runs: Sequence[str]) -> CallTotals:
    """Totals of several runs' calls pooled (the repeated trials of one variant): percentiles over all of them."""
    rows: list[tuple[Any, ...]] = []
    with sqlite3.connect(db_path) as db:
        for run in dict.fromkeys(runs):
            rows += db.execute("SELECT latency_ms, status, prompt_tokens, completion_tokens, cost_usd, cache, attempts "
                               "FROM llm_calls WHERE run = ?", (run,)).fetchall()
    return _summarise({"run": ",".join(dict.fromkeys(runs))}, rows)


def _summarise(group: dict[str, str], rows: list[tuple[Any, ...]]) -> CallTotals:
    latencies = sorted(float(r[0]) for r in rows)
    prompt = sum(int(r[2]) for r in rows)
    completion = sum(int(r[3]) for r in rows)
    return CallTotals(
        group=group,
        calls=len(rows),
        failed_calls=sum(1 for r in rows if int(r[1]) >= 400),
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        cost_usd=sum(float(r[4]) for r in rows),
        p50_latency_ms=percentile(latencies, 0.50),
        p95_latency_ms=percentile(latencies, 0.95),
        cache_hits=sum(1 for r in rows if r[5] == "hit"),
        replays=sum(1 for r in rows if r[5] == "replay"),
        attempts=sum(int(r[6]) for r in rows),
    )
