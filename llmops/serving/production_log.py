"""The production log: one JSON line per request an endpoint answered (or shadowed), rotated by size.

`<state>/endpoints/<endpoint>/production_log.jsonl`, then `.1` (newest rotated) to `.N` (oldest). With
LOG_DIR_ENV set (a server in an image), `<that folder>/<endpoint>/<host name>/production_log.jsonl`
instead: one file per replica, since replicas of a deployment may share the folder (see log_location). A server
with several worker processes (workers.py) gives each its own file too: worker 0 the one above, worker k
`worker-<k>/production_log.jsonl` beside it (worker_log), each rotated by its one writer; read_entries reads
them all back as one log. A server
in Azure ships its closed files to blob storage instead of numbering them (log_shipping.py).
A line holds the timestamp, endpoint, deployment, mirror flag, latency, status, inputs and outputs, the request
id (shared by a request and its mirror copy), `forced` when the request named its deployment and `probe` when
llmops itself sent it to test the endpoint (backends/targets.PROBE_HEADER): never a header, so no key or session
id reaches the log. Inputs and outputs are bounded (log_bounds.py);
an entry that was cut says so in `truncated`.
"""

from __future__ import annotations

import heapq
import json
import logging
import re
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from llmops.config.jsonl import numbered_lines
from llmops.config.problems import Problem
from llmops.serving.log_bounds import MAX_FIELD_CHARS, bound

logger = logging.getLogger(__name__)

LOG_FILE = "production_log.jsonl"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_BACKUPS = 5
# A lone surrogate ("\ud800" in a request's JSON) is valid JSON but not Unicode, so it cannot be written as
# UTF-8; in a Python str every surrogate is a lone one.
_SURROGATE = re.compile("[\ud800-\udfff]")


LOG_DIR_ENV = "LLMOPS_PRODUCTION_LOG_DIR"


def log_path(state_dir: Path, endpoint: str) -> Path:
    return state_dir / "endpoints" / endpoint / LOG_FILE


def log_location(state_dir: Path, endpoint: str, environ: Mapping[str, str]) -> Path:
    """Where a server writes its log: under LOG_DIR_ENV when set, else beside its state (log_path).

    The folder may be storage that outlives the container (a blob container mounted into a web app or a
    Kubernetes pod). Each replica writes its own file, named by its host name (the pod or container name),
    because appends from several machines to one blob file interleave; read_tree reads them all back. The
    cloud targets rely on shipping instead (log_shipping.py), which needs no mount and works on a managed
    online endpoint too.
    """
    folder = environ.get(LOG_DIR_ENV, "").strip()
    if not folder:
        return log_path(state_dir, endpoint)
    return Path(folder).expanduser() / endpoint / socket.gethostname() / LOG_FILE


WORKER_FOLDER = "worker-{number}"


def worker_log(location: Path, worker: int) -> Path:
    """Where worker `worker` of a server writes the log whose place is `location`: worker 0 (the only one of a
    one-process server) there, any other in a folder of its own beside it, with its own rotation and outbox."""
    if worker == 0:
        return location
    return location.parent / WORKER_FOLDER.format(number=worker) / location.name


def worker_logs(location: Path) -> list[Path]:
    """The other workers' logs of the log at `location`, present or left by an earlier server with more workers."""
    prefix = WORKER_FOLDER.format(number="")
    return sorted(folder / location.name for folder in location.parent.glob(f"{prefix}*")
                  if folder.name[len(prefix):].isdigit() and folder.is_dir())  # a log may be all rotated files


def make_entry(endpoint: str, deployment: str | None, mirror: bool, latency_ms: float, status: int,
               inputs: Any, outputs: dict[str, Any], request_id: str | None = None,
               forced: bool = False, probe: bool = False) -> dict[str, Any]:
    """`request_id` is the same for a request and its mirror copies (how a canary watch pairs their answers);
    `forced`: the request named its deployment (a smoke test, a canary watch's shadow request, or a user's);
    `probe`: llmops sent it to test the endpoint (a smoke test, test-endpoint, a canary watch's shadow request),
    marked so readers never take it for user traffic (is_probe)."""
    kept_inputs, inputs_size = bound(inputs)
    kept_outputs, outputs_size = bound(outputs)
    entry = {"timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"), "endpoint": endpoint,
             "deployment": deployment, "mirror": mirror, "latency_ms": round(latency_ms, 3), "status": status,
             "inputs": kept_inputs, "outputs": kept_outputs}
    if request_id is not None:
        entry["request_id"] = request_id
    if forced:
        entry["forced"] = True
    if probe:
        entry["probe"] = True
    truncated = {name: size for name, size in (("inputs", inputs_size), ("outputs", outputs_size)) if size}
    if truncated:  # field -> its original size in JSON characters
        entry["truncated"] = truncated
    return entry


def _utf8(line: str) -> bytes:
    try:
        return line.encode("utf-8")
    except UnicodeEncodeError:  # the request is answered and logged all the same, with U+FFFD in its place
        return _SURROGATE.sub("\ufffd", line).encode("utf-8")


class ProductionLog:
    """Appends entries from many threads of one server process; rotates when the file passes max_bytes.

    Rotated files are numbered (`.1` newest) and the oldest past `backups` is deleted; or, with `hand_over` (a
    server that ships its log, log_shipping.py), each closed file is given to `hand_over`, which moves it away
    before the next entry opens a new one.
    """

    def __init__(self, path: Path, max_bytes: int = DEFAULT_MAX_BYTES, backups: int = DEFAULT_BACKUPS,
                 hand_over: Callable[[Path], None] | None = None) -> None:
        if max_bytes < 1 or backups < 1:
            raise ValueError(f"production log needs max_bytes >= 1 and backups >= 1, got {max_bytes}, {backups}")
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._hand_over = hand_over
        self._lock = threading.Lock()
        self._handle: BinaryIO | None = None

    def append(self, entry: dict[str, Any]) -> None:
        line = _utf8(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
        with self._lock:
            handle = self._open()
            handle.write(line)
            handle.flush()  # a reader (post-prod-eval) sees every answered request
            if handle.tell() >= self.max_bytes:
                self._rotate()

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def close_segment(self) -> bool:
        """Close the current file and rotate it now when it holds an entry (a rotation by time, or the last one
        at shutdown); returns whether it did. A file left by an earlier process counts too."""
        with self._lock:
            if self._handle is None and not self.path.exists():
                return False
            if (self._handle.tell() if self._handle is not None else self.path.stat().st_size) == 0:
                return False
            self._rotate()
            return True

    def _open(self) -> BinaryIO:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("ab")
            if self._handle.tell() > 0 and _ends_torn(self.path):
                # A writer killed mid-line (a worker restarted after a crash): the next entry starts on a line of
                # its own, so only the torn one is lost, not the first entry after it too.
                self._handle.write(b"\n")
        return self._handle

    def _rotate(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._hand_over is not None:
            self._hand_over(self.path)
            return
        oldest = rotated(self.path, self.backups)
        oldest.unlink(missing_ok=True)
        for number in range(self.backups - 1, 0, -1):
            source = rotated(self.path, number)
            if source.exists():
                source.rename(rotated(self.path, number + 1))
        self.path.rename(rotated(self.path, 1))
        logger.info("rotated %s (reached %d bytes)", self.path, self.max_bytes)


def _ends_torn(path: Path) -> bool:
    with path.open("rb") as file:
        file.seek(-1, 2)
        return file.read(1) != b"\n"


def rotated(path: Path, number: int) -> Path:
    return path.with_name(f"{path.name}.{number}")


def log_files(path: Path) -> list[Path]:
    """The log and its rotated files, oldest first."""
    numbered = []
    for candidate in path.parent.glob(f"{path.name}.*"):
        suffix = candidate.name[len(path.name) + 1:]
        if suffix.isdigit():
            numbered.append((int(suffix), candidate))
    files = [p for _, p in sorted(numbered, reverse=True)]
    return files + ([path] if path.exists() else [])


def read_entries(path: Path) -> Iterator[dict[str, Any]]:
    """Every entry of the log at `path` and of its workers' logs (worker_log), oldest first; a torn last line (a
    server killed mid-write) is skipped. Each file is in the order its one writer appended; the files are merged
    by timestamp."""
    others = worker_logs(path)
    if not others:  # a server of one process: its file as it is
        yield from writer_entries(path)
        return
    yield from heapq.merge(*(writer_entries(p) for p in (path, *others)), key=lambda e: str(e.get("timestamp", "")))


def writer_entries(path: Path) -> Iterator[dict[str, Any]]:
    """The entries one writer appended to `path` and its rotated files, oldest first (no other worker's)."""
    for file in log_files(path):
        unreadable: list[Problem] = []
        for number, line in numbered_lines(file, str(file), unreadable):
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                logger.warning("%s: line %d is not JSON; skipped", file, number)
        for problem in unreadable:
            logger.warning("%s; skipped", problem)


def is_probe(entry: dict[str, Any]) -> bool:
    """Whether llmops sent the request to test the endpoint (make_entry's `probe`), not a user."""
    return entry.get("probe") is True


def without_probes(entries: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The entries of user traffic, and how many probes (smoke tests, test-endpoint, canary shadows) were left out."""
    kept, probes = [], 0
    for entry in entries:
        if is_probe(entry):
            probes += 1
        else:
            kept.append(entry)
    return kept, probes


def flatten(entries: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Answered requests as dataset rows: input and output keys at top level, plus deployment and mirror.

    An entry whose values were cut is left out: evaluating a prefix of what the deployment saw would mislead.
    """
    rows, cut = [], 0
    for entry in entries:
        if entry.get("status") != 200 or not isinstance(entry.get("inputs"), dict):
            continue
        if entry.get("truncated"):
            cut += 1
            continue
        rows.append({**entry["inputs"], **(entry.get("outputs") or {}), "deployment": entry.get("deployment"),
                     "mirror": bool(entry.get("mirror"))})
    if cut:
        logger.warning("%d answered request%s left out: %s inputs or outputs were truncated in the production log "
                       "(over %d characters of JSON)", cut, "" if cut == 1 else "s", "its" if cut == 1 else "their",
                       MAX_FIELD_CHARS)
    return rows


def read_tree(folder: Path) -> list[dict[str, Any]]:
    """Every entry of every production log under `folder` (one per replica and worker, see log_location and
    worker_log), by timestamp."""
    logs = {found.parent / LOG_FILE for found in folder.rglob(f"{LOG_FILE}*")
            if found.name == LOG_FILE or found.name[len(LOG_FILE) + 1:].isdigit()}  # rotated files alone count too
    entries = [entry for current in sorted(logs) for entry in writer_entries(current)]
    return sorted(entries, key=lambda entry: str(entry.get("timestamp", "")))
