"""Shared rendering of run results for the experiment, evaluate and run commands."""

from __future__ import annotations

from typing import Any

from llmops.cli.common import out


def runs_table(results: list[Any]) -> None:
    for r in results:
        rec = r.record
        how = "reused" if r.reused else f"ran {r.executed_lines} lines"
        metrics = ", ".join(f"{k}={v:.3f}" for k, v in sorted(rec.metrics.items()) if isinstance(v, (int, float)))
        out(f"{rec.name}: {rec.lines_total} lines, {rec.lines_failed} failed ({how})"
            + (f"; {metrics}" if metrics else ""))
