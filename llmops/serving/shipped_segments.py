"""The segments a cloud endpoint's servers shipped (backends/production_logs.py), read once into the state directory.

Post-production evaluation and a canary watch both read them. A blob's name is fixed by its bytes, so a segment
downloaded once is never downloaded again: it is kept under `endpoints/<endpoint>/shipped/<blob name>`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from llmops.backends.production_logs import ProductionLogStore, Segment
from llmops.serving.production_log import read_entries


def cached_segment(state_dir: Path, store: ProductionLogStore, segment: Segment) -> Path:
    """The segment's file in the state directory, downloaded when it is not there yet."""
    local = state_dir / "endpoints" / segment.endpoint / "shipped" / Path(*segment.name.split("/"))
    if not local.is_file():
        local.parent.mkdir(parents=True, exist_ok=True)
        staging = local.with_name(local.name + ".part")  # a download cut short never passes for the segment
        staging.write_bytes(store.read(segment.name))
        staging.replace(local)
    return local


def segment_entries(state_dir: Path, store: ProductionLogStore, segment: Segment) -> Iterator[dict[str, Any]]:
    """The entries of an uploaded segment, oldest first."""
    return read_entries(cached_segment(state_dir, store, segment))
