"""The cross-process file lock: a waiter is told who holds it, and a holder that dies releases it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from llmops.file_lock import exclusive_lock
from tests.support.repo_copy import REPO

pytestmark = pytest.mark.timeout(60)

HOLD = "import sys, time; from pathlib import Path; from llmops.file_lock import exclusive_lock\n" \
       "with exclusive_lock(Path(sys.argv[1])):\n    print('held', flush=True)\n    time.sleep(600)\n"


def holder(path: Path) -> subprocess.Popen[str]:
    """Another process that takes the lock and keeps it until killed."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def test_a_holder_killed_by_sigkill_releases_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "run.lock"
    proc = holder(path)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with exclusive_lock(path):  # does not wait for a dead process
        assert path.read_text().strip() == str(os.getpid())


def test_a_waiter_is_told_the_holders_pid_then_gets_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "run.lock"
    proc = holder(path)
    told: list[str] = []
    acquired = threading.Event()

    def wait_for_it() -> None:
        with exclusive_lock(path, on_wait=lambda _, pid: told.append(pid)):
            acquired.set()

    waiter = threading.Thread(target=wait_for_it)
    waiter.start()
    while not told:
        time.sleep(0.02)
    assert told == [str(proc.pid)] and not acquired.is_set()
    proc.terminate()
    proc.wait()
    waiter.join()
    assert acquired.is_set()
