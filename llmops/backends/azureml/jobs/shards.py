"""A job's lines as shard files: its parallel node's input data, one mini-batch per file.

Each line is a JSON object: the run id, the line's index in its dataset, and the flow inputs with the
mapping already applied. A mini-batch is one file (mini_batch_size 1 over a uri_folder), so which lines go
together is decided here, the same on Azure ML as on the emulator: a few shards per worker, so a slow or
retried shard does not leave the other workers idle, and never so many lines in one that a dead worker
loses much.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

SHARDS_PER_WORKER = 3
MAX_LINES_PER_SHARD = 50


def lines_per_shard(lines: int, workers: int) -> int:
    return max(1, min(MAX_LINES_PER_SHARD, math.ceil(lines / (max(1, workers) * SHARDS_PER_WORKER))))


def write_shards(folder: Path, lines: list[tuple[str, int, dict[str, Any]]], per_shard: int) -> int:
    """Write `lines` (run id, index, inputs) in order, `per_shard` to a file; returns the number of files."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for count, start in enumerate(range(0, len(lines), per_shard), start=1):
        text = "".join(json.dumps({"run": run_id, "index": index, "inputs": inputs}, default=str) + "\n"
                       for run_id, index, inputs in lines[start:start + per_shard])
        (folder / f"shard-{count:05d}.jsonl").write_text(text, encoding="utf-8")
    return count
