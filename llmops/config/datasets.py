"""Reading JSONL datasets: every line must be a JSON object; problems name the file and the line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.config.problems import Problem, display_path


@dataclass(frozen=True)
class DatasetFile:
    path: Path
    rows: list[dict[str, Any]]

    @property
    def columns(self) -> set[str]:
        return set().union(*(row.keys() for row in self.rows)) if self.rows else set()

    def rows_missing(self, column: str) -> int:
        return sum(1 for row in self.rows if column not in row)


def read_jsonl(path: Path, root: Path | None, problems: list[Problem]) -> DatasetFile | None:
    shown = display_path(path, root)
    rows: list[dict[str, Any]] = []
    bad = 0
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(Problem(shown, f"line {number}", f"invalid JSON: {exc.msg}"))
                bad += 1
                continue
            if not isinstance(value, dict):
                problems.append(Problem(shown, f"line {number}", "expected a JSON object per line"))
                bad += 1
                continue
            rows.append(value)
    if not rows and not bad:
        problems.append(Problem(shown, "", "the data file is empty; add at least one JSON line"))
    return DatasetFile(path=path, rows=rows) if rows and not bad else None
