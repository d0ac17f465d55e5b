"""Splitting a parallel node's input into mini-batches, as Azure ML's parallel job does.

A file input (uri_folder, or an mltable without a read transformation) is split by file count: a
mini-batch is `mini_batch_size` file paths. A tabular input (an mltable folder whose MLTable file
reads JSON lines or delimited text) is split by size: rows join a mini-batch until its rows'
bytes reach `mini_batch_size` ("100", "10kb", "1MB"); `run()` gets them as a pandas DataFrame.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .inputs import JobFailure

DEFAULT_FILES = 10
DEFAULT_BYTES = 1024 * 1024
_UNITS = {"": 1, "b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}


@dataclass(frozen=True)
class MiniBatch:
    index: int
    kind: str  # "files": items are file paths; "rows": items are records of a table
    items: list[Any]


def parse_size(text: object, default: int) -> int:
    if text in (None, ""):
        return default
    found = re.fullmatch(r"\s*(\d+)\s*([kKmMgG]?[bB]?)\s*", str(text))
    if not found:
        raise JobFailure(f"mini_batch_size '{text}' is not a count or a size such as 100, 10kb or 1MB.")
    return int(found.group(1)) * _UNITS[found.group(2).lower()]


def _chunks(items: list[Any], size: int, kind: str) -> list[MiniBatch]:
    return [MiniBatch(i, kind, items[start : start + size]) for i, start in enumerate(range(0, len(items), size))]


def _mltable(folder: Path) -> dict[str, Any] | None:
    spec = folder / "MLTable"
    return yaml.safe_load(spec.read_text()) if spec.exists() else None


def _table_files(folder: Path, spec: dict[str, Any]) -> list[Path]:
    files: list[Path] = []
    for entry in spec.get("paths") or []:
        if "file" in entry:
            files.append(folder / entry["file"])
        elif "folder" in entry:
            files.extend(sorted(p for p in (folder / entry["folder"]).rglob("*") if p.is_file()))
        elif "pattern" in entry:
            files.extend(sorted(p for p in folder.glob(entry["pattern"]) if p.is_file() and p.name != "MLTable"))
    return files


def _rows(files: list[Path], transformation: dict[str, Any]) -> list[tuple[dict[str, Any], int]]:
    """(record, size in bytes) of each row, in file order."""
    rows: list[tuple[dict[str, Any], int]] = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        if "read_json_lines" in transformation:
            for line in text.split("\n"):
                if line.strip():
                    rows.append((json.loads(line), len(line.encode()) + 1))
        else:
            options = transformation["read_delimited"] or {}
            header = str(options.get("header", "all_files_same_headers")) != "no_header"
            lines = text.splitlines(keepends=True)
            reader = csv.reader(io.StringIO(text), delimiter=options.get("delimiter", ","))
            names = next(reader) if header else None
            for number, values in enumerate(reader, start=1 if header else 0):
                record = dict(zip(names, values, strict=False)) if names else dict(enumerate(values))
                rows.append((record, len(lines[number].encode()) if number < len(lines) else 1))
    return rows


def split(folder: Path, mini_batch_size: object) -> list[MiniBatch]:
    spec = _mltable(folder)
    readers = [t for t in (spec or {}).get("transformations") or [] if "read_json_lines" in t or "read_delimited" in t]
    if spec is None or not readers:
        files = _table_files(folder, spec) if spec else sorted(p for p in folder.rglob("*") if p.is_file())
        return _chunks([str(p) for p in files], parse_size(mini_batch_size, DEFAULT_FILES), "files")
    limit = parse_size(mini_batch_size, DEFAULT_BYTES)
    batches: list[MiniBatch] = []
    records: list[dict[str, Any]] = []
    size = 0
    for record, row_size in _rows(_table_files(folder, spec), readers[0]):
        records.append(record)
        size += row_size
        if size >= limit:
            batches.append(MiniBatch(len(batches), "rows", records))
            records, size = [], 0
    if records:
        batches.append(MiniBatch(len(batches), "rows", records))
    return batches
