"""What each LLM call of some runs cost and how long it took upstream, from the accounting table.

A call answered from the response cache cost nothing and took no time, yet it stands for a request that does
when served: it gets the cost and latency of the last successful upstream call of the same request (its hash).
A replayed call (cassette) has no upstream figure: None for both.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

UPSTREAM = ("miss", "record")


@dataclass(frozen=True)
class CallFigures:
    line: int | None
    cost_usd: float | None
    latency_ms: float | None


def call_figures(db_path: Path, run_ids: Sequence[str]) -> dict[str, list[CallFigures]]:
    """Run id -> the upstream figures of each of its calls ({} without an accounting database)."""
    if not db_path.is_file() or not run_ids:
        return {}
    marks = ",".join("?" for _ in run_ids)
    with sqlite3.connect(db_path) as db:
        rows = db.execute(f"SELECT run, line, cache, cost_usd, latency_ms, request_hash, status FROM llm_calls "
                          f"WHERE run IN ({marks}) ORDER BY id", list(run_ids)).fetchall()
        hashes = sorted({r[5] for r in rows if r[2] == "hit"})
        upstream: dict[str, tuple[float, float]] = {}
        for start in range(0, len(hashes), 500):  # SQLite limits the variables of one statement
            chunk = hashes[start:start + 500]
            found = db.execute(f"SELECT request_hash, cost_usd, latency_ms FROM llm_calls WHERE cache IN "
                               f"('miss', 'record') AND status < 400 AND request_hash IN "
                               f"({','.join('?' for _ in chunk)}) ORDER BY id", chunk)
            upstream.update((h, (float(c), float(ms))) for h, c, ms in found)
    out: dict[str, list[CallFigures]] = {run: [] for run in run_ids}
    for run, line, cache, cost, latency, request_hash, _status in rows:
        if cache in UPSTREAM:
            figure = CallFigures(line, float(cost), float(latency))
        elif cache == "hit" and request_hash in upstream:
            figure = CallFigures(line, *upstream[request_hash])
        else:
            figure = CallFigures(line, None, None)
        out[run].append(figure)
    return out
