"""Record/replay cassettes: one JSONL file per flow, one sorted line per distinct request."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from llmops.config.jsonl import numbered_lines
from llmops.config.problems import Problem
from llmops.errors import ConfigError

logger = logging.getLogger(__name__)

_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9_.-]")
UNTAGGED_FLOW_FILE = "_untagged"


class Mode(StrEnum):
    LIVE = "live"  # call the upstream (through the cache); no cassette
    # Answer from the flow's cassette when it holds the request; call the upstream for the others and record their
    # answers. A changed prompt records its new requests and leaves every recorded answer as it was, so the
    # variants it did not change replay as before.
    RECORD = "record"
    REFRESH = "refresh"  # call the upstream for every request and write every answer, replacing recorded ones
    REPLAY = "replay"  # answer only from cassettes; never call the upstream


@dataclass(frozen=True)
class CassetteEntry:
    hash: str
    flow: str
    node: str
    endpoint: str
    model: str
    request: Mapping[str, Any]
    response: Mapping[str, Any]

    def to_line(self) -> str:
        fields = {
            "hash": self.hash,
            "flow": self.flow,
            "node": self.node,
            "endpoint": self.endpoint,
            "model": self.model,
            "request": self.request,
            "response": self.response,
        }
        return json.dumps(fields, sort_keys=True, ensure_ascii=False)


def cassette_file_name(flow: str) -> str:
    return (_UNSAFE_FILE_CHARS.sub("_", flow) or UNTAGGED_FLOW_FILE) + ".jsonl"


class CassetteStore:
    """Cassettes of one directory, loaded lazily; new recordings are written on flush()."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._entries: dict[str, dict[str, dict[str, Any]]] = {}  # file name -> hash -> line fields
        self._dirty: set[str] = set()
        self._lock = threading.Lock()

    def path_for(self, flow: str) -> Path:
        return self.directory / cassette_file_name(flow)

    def find(self, flow: str, request_hash: str) -> Mapping[str, Any] | None:
        """The recorded response; a call without a flow tag is looked up in every cassette."""
        with self._lock:
            names = [cassette_file_name(flow)] if flow else self._all_file_names()
            for name in names:
                entry = self._load(name).get(request_hash)
                if entry is not None:
                    response: Mapping[str, Any] = entry["response"]
                    return response
        return None

    def add(self, entry: CassetteEntry) -> None:
        name = cassette_file_name(entry.flow)
        fields = json.loads(entry.to_line())
        with self._lock:
            entries = self._load(name)
            if entries.get(entry.hash) != fields:
                entries[entry.hash] = fields
                self._dirty.add(name)

    def flush(self) -> list[Path]:
        """Write every cassette that changed, lines sorted by hash; returns the files written."""
        written: list[Path] = []
        with self._lock:
            for name in sorted(self._dirty):
                entries = self._entries[name]
                path = self.directory / name
                path.parent.mkdir(parents=True, exist_ok=True)
                text = "".join(
                    json.dumps(entries[h], sort_keys=True, ensure_ascii=False) + "\n" for h in sorted(entries)
                )
                # Write then rename: a crash mid-write never leaves a truncated cassette behind.
                partial = path.with_suffix(".jsonl.partial")
                partial.write_text(text, encoding="utf-8")
                os.replace(partial, path)
                written.append(path)
                logger.info("wrote %d recorded responses to %s", len(entries), path)
            self._dirty.clear()
        return written

    def _all_file_names(self) -> list[str]:
        on_disk = {p.name for p in self.directory.glob("*.jsonl")} if self.directory.is_dir() else set()
        return sorted(on_disk | set(self._entries))

    def _load(self, name: str) -> dict[str, dict[str, Any]]:
        entries = self._entries.get(name)
        if entries is None:
            entries = {}
            path = self.directory / name
            if path.is_file():
                problems: list[Problem] = []
                for number, line in numbered_lines(path, str(path), problems):
                    try:
                        fields = json.loads(line)
                        entries[fields["hash"]] = fields
                    except (json.JSONDecodeError, KeyError, TypeError) as error:
                        problems.append(Problem(str(path), f"line {number}", f"not a cassette entry ({error}); "
                                                "fix the line or delete the file and record again"))
                if problems:
                    raise ConfigError(problems)
            self._entries[name] = entries
        return entries
