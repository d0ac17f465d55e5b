"""Launch, recognise and stop the background server processes.

Children started by this process are kept in a registry so that stopping one also reaps it (a zombie
would still look alive to `os.kill(pid, 0)`). A pid from a record written by another process is
signalled only after /proc confirms it runs our server code: pids get reused.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from llmops.llm.embedded.child import PROCESS_MARKER

logger = logging.getLogger(__name__)

_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def launch(command: Sequence[str], env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start `command` in its own session (so it outlives this process), output to `log_path` (truncated)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            start_new_session=True,
        )
    _CHILDREN[process.pid] = process
    return process


def exit_code(pid: int) -> int | None:
    """The exit code of a child we launched, None while it runs (or when it is not ours to reap)."""
    child = _CHILDREN.get(pid)
    return child.poll() if child is not None else None


def is_our_server(pid: int) -> bool:
    """True when `pid` is alive and runs our server code."""
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    if Path("/proc/self").exists():
        try:
            return PROCESS_MARKER.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
    return _pid_alive(pid)  # no /proc (macOS, Windows): the health check of the caller must vouch for it


def terminate(pid: int, grace_seconds: float = 15.0) -> None:
    """SIGTERM, wait up to `grace_seconds`, then SIGKILL; reaps our own children."""
    _signal(pid, signal.SIGTERM)
    if not _wait_gone(pid, grace_seconds):
        logger.warning("embedded server pid %d ignored SIGTERM for %.0f s; killing it", pid, grace_seconds)
        _signal(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
        _wait_gone(pid, 5.0)
    _CHILDREN.pop(pid, None)


def _wait_gone(pid: int, seconds: float) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        try:
            child.wait(timeout=seconds)
            return True
        except subprocess.TimeoutExpired:
            return False
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.1)
    return not _pid_alive(pid)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
