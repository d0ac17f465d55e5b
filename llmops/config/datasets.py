"""Reading JSONL datasets: every line must be a JSON object; problems name the file and the line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.config.jsonl import scan_objects
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
    found: list[Problem] = []
    rows = scan_objects(path, display_path(path, root), found)
    problems.extend(found)
    if not rows and not found:
        problems.append(Problem(display_path(path, root), "", "the data file is empty; add at least one JSON line"))
    return DatasetFile(path=path, rows=rows) if rows and not found else None
