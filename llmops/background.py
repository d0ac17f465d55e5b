"""Servers that run in the background of llmops commands: start, record, recognise, stop.

Two kinds exist: the local endpoint (`llmops endpoint up`, serving/process.py) and the embedded model's
llama.cpp server (llm/embedded/llama_server.py). Each server
- runs in a session of its own, so it outlives the command that started it and ignores its Ctrl-C, with
  its output in a log file;
- is recorded in `<folder>/<name>.json` (its pid, port, address and what else its kind needs), written
  whole or not at all;
- is recognised by its recorded pid only while /proc shows that pid running our code (pids get reused,
  and a record outlives a killed server); a record of anything else is stale and removed;
- stops on SIGTERM (work in flight finishes), or SIGKILL after a grace period;
- is started under `<folder>/<name>.lock`, so two commands at once start one server.
Children this process started are kept, so that polling and stopping reap them (a zombie would still
look alive to `os.kill(pid, 0)`).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import MISSING, Field, asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from llmops.errors import StepFailed
from llmops.file_lock import exclusive_lock

logger = logging.getLogger(__name__)

PACKAGE_PARENT = Path(__file__).resolve().parents[1]  # the folder holding llmops/ (a checkout or site-packages)

_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class Record(Protocol):
    """A server's record: a dataclass holding at least the server's pid."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @property
    def pid(self) -> int: ...


R = TypeVar("R", bound=Record)
T = TypeVar("T")


@dataclass(frozen=True)
class ServerRecords(Generic[R]):
    """The records of one kind of server in one folder, and the processes they name."""

    folder: Path
    record_type: type[R]
    marker: str  # in the command line of every such server process (checked in /proc/<pid>/cmdline)
    kind: str  # "endpoint server": how messages name it

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.json"

    def lock(self, name: str) -> AbstractContextManager[None]:
        """Held while a server is started or replaced: two commands at once do not start two."""
        return exclusive_lock(self.folder / f"{name}.lock")

    def read(self, name: str) -> R | None:
        """The record, or None when there is none or it cannot be read (a record of an older version)."""
        path = self.path(name)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return self.record_type(**{field.name: raw[field.name] for field in fields(self.record_type)
                                       if field.name in raw or field.default is MISSING})
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as error:
            logger.warning("ignoring unreadable server record %s: %s", path, error)
            return None

    def write(self, name: str, record: R) -> Path:
        path = self.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
        os.replace(partial, path)  # readers never see half a file
        return path

    def forget(self, name: str, pid: int) -> None:
        """Remove the record if it is still the one of `pid` (a new server may have replaced it)."""
        found = self.read(name)
        if found is not None and found.pid == pid:
            self.path(name).unlink(missing_ok=True)

    def running(self, name: str) -> R | None:
        """The record when its process runs our server; a stale record is removed."""
        record = self.read(name)
        if record is None:
            return None
        if not is_ours(record.pid, self.marker):
            logger.info("%s '%s': removing the record of process %d, which is gone", self.kind, name, record.pid)
            self.forget(name, record.pid)
            return None
        return record

    def stop(self, name: str, grace_s: float) -> R | None:
        """Stop the recorded server (SIGTERM, SIGKILL after `grace_s`); its record, or None if none ran."""
        record = self.running(name)
        if record is None:
            return None
        logger.info("stopping %s '%s' (pid %d)", self.kind, name, record.pid)
        terminate(record.pid, grace_s, f"{self.kind} '{name}'")
        self.forget(name, record.pid)
        return record


def python_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this environment) with this llmops first on PYTHONPATH: a server started from a
    checkout that is not pip-installed imports the same code as the command that starts it."""
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_PARENT), env.get("PYTHONPATH", "")) if p)
    return env


def launch(command: Sequence[str], env: Mapping[str, str], log_path: Path, *, append: bool = False,
           stdout: bool = True) -> subprocess.Popen[bytes]:
    """Start `command` in a session of its own; its stderr (and its stdout unless `stdout` is False) goes to
    `log_path`, appended to or truncated."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab" if append else "wb") as log:
        process = subprocess.Popen(list(command), stdin=subprocess.DEVNULL,
                                   stdout=log if stdout else subprocess.DEVNULL, stderr=log,
                                   env=dict(env), start_new_session=True)
    _CHILDREN[process.pid] = process
    return process


def wait_until_ready(process: subprocess.Popen[bytes], ready: Callable[[], T | None], timeout_s: float,
                     what: str, log_path: Path) -> T:
    """Poll `ready` until it returns something; fail with the log's tail if the process exits or the time
    runs out (then it is stopped)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            raise StepFailed(f"{what} exited with code {code} while starting; see the end of {log_path}:\n"
                             f"{tail(log_path)}")
        found = ready()
        if found is not None:
            return found
        time.sleep(0.1)
    process.terminate()
    try:
        process.wait(timeout=5.0)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    _CHILDREN.pop(process.pid, None)
    raise StepFailed(f"{what} did not become ready within {timeout_s:.0f} s and was stopped; see the end of "
                     f"{log_path}:\n{tail(log_path)}")


def is_ours(pid: int, marker: str) -> bool:
    """True when `pid` is alive and runs our server code (`marker` in its command line)."""
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    if Path("/proc/self").exists():
        try:
            return marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
    return _alive(pid)  # no /proc (macOS, Windows): the caller's health check must vouch for it


def terminate(pid: int, grace_s: float, what: str) -> None:
    """SIGTERM, wait up to `grace_s`, then SIGKILL; reaps our own children."""
    _signal(pid, signal.SIGTERM)
    if not _wait_gone(pid, grace_s):
        logger.warning("%s (pid %d) ignored SIGTERM for %.0f s; killing it", what, pid, grace_s)
        _signal(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
        _wait_gone(pid, 5.0)
    _CHILDREN.pop(pid, None)


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_gone(pid: int, seconds: float) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        try:
            child.wait(timeout=seconds)
            return True
        except subprocess.TimeoutExpired:
            return False
    deadline = time.monotonic() + seconds
    while _alive(pid):  # until its parent (init, once the command that started it ended) has reaped it
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
