"""A run whose state directory fills up ends with one message and exit 1, no traceback; the lines it
finished are kept, and once there is room the same command finishes the rest.

Two ways to fill a disk for real: a tiny tmpfs mounted in a private mount namespace (`unshare`, skipped
where the machine does not allow it), and a file size limit (RLIMIT_FSIZE, with SIGXFSZ ignored so a
write past it fails with EFBIG instead of killing the process), which works everywhere on POSIX.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from llmops.report.formatting import lines as lines_text
from tests.support.cli import llmops
from tests.support.mini_use_case import write_use_case
from tests.support.repo_copy import REPO

pytestmark = pytest.mark.timeout(300)

LINES = 400
TMPFS_BYTES = 600_000  # room for the first lines' results, not for all of them
FILE_SIZE_LIMIT = 150_000  # a file of the state grows past it half way through the run
EXPERIMENT_FILE_SIZE_LIMIT = 64_000  # the same for the experiment step alone
DISK_FULL = "error: disk full writing {path}: free space and run the command again; finished lines are kept\n"
NO_ROOM = ("error: could not write {path} (disk I/O error: the disk is full, over its quota or failing): "
           "free space and run the command again; finished lines are kept\n")


def write_many_lines(root: Path) -> None:
    """The mini use case with LINES lines: their results fill the state directory line by line."""
    write_use_case(root)
    rows = [{"url": f"https://apps.example.com/{i}", "answer": "App"} for i in range(LINES)]
    (root / "use_cases/mini/data/pr.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def _unshare_allowed() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /tmp"],
                           capture_output=True)
    return probe.returncode == 0


def on_tiny_tmpfs(state: Path, command: list[str]) -> list[str]:
    """`command` in a private mount namespace where `state` is a tmpfs of TMPFS_BYTES."""
    if not _unshare_allowed():
        pytest.skip("this machine does not allow a private mount namespace (unshare -rm) to mount a tmpfs")
    state.mkdir()
    mount = f'mount -t tmpfs -o size={TMPFS_BYTES} tmpfs "$0" && exec "$@"'
    return ["unshare", "-rm", "sh", "-c", mount, str(state), *command]


def under_file_size_limit(state: Path, command: list[str]) -> list[str]:
    return command  # the limit is set in the child, see file_size_limit


def file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # inherited across exec: writes fail with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


FILLS = [
    # how the disk fills, the command wrapper, set up in the child, the message
    pytest.param(on_tiny_tmpfs, None, DISK_FULL, id="tmpfs full (ENOSPC)"),
    pytest.param(under_file_size_limit, file_size_limit(FILE_SIZE_LIMIT), NO_ROOM, id="file size limit (EFBIG)"),
]


@pytest.mark.parametrize(("wrap", "in_child", "message"), FILLS)
def test_a_full_disk_ends_the_run_with_one_message(tmp_path: Path, wrap: Callable[[Path, list[str]], list[str]],
                                                   in_child: Callable[[], None] | None, message: str) -> None:
    root = tmp_path / "repo"
    write_many_lines(root)
    state = tmp_path / "state"
    env = {**os.environ, "PYTHONPATH": str(REPO), "LLMOPS_STATE_DIR": str(state)}
    # A process of its own: the disk fills in its mount namespace or under its file size limit.
    command = [sys.executable, "-m", "llmops", "--root", str(root), "run", "-u", "mini", "-e", "pr"]
    done = subprocess.run(wrap(state, command), env=env, capture_output=True, text=True, timeout=240,
                          preexec_fn=in_child)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert done.stderr.endswith(message.format(path=state / "registry.sqlite")), done.stderr[-3000:]
    assert "cannot rollback" not in done.stderr


def test_after_a_full_disk_the_finished_lines_are_kept(tmp_path: Path) -> None:
    """The lines saved before the disk filled are not run again once there is room."""
    write_many_lines(tmp_path)
    state = tmp_path / ".llmops"
    command = [sys.executable, "-m", "llmops", "--root", str(tmp_path), "experiment", "-u", "mini", "-e", "pr",
               "--variants", "defaults"]
    assert llmops(tmp_path, "register-data", "-u", "mini", "-e", "pr").code == 0
    # The disk fills in a process of its own: the file size limit is the process's.
    full = subprocess.run(command, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
                          timeout=240, preexec_fn=file_size_limit(EXPERIMENT_FILE_SIZE_LIMIT))
    assert full.returncode == 1, full.stderr[-3000:]
    with sqlite3.connect(state / "registry.sqlite") as conn:
        kept = conn.execute("SELECT COUNT(*) FROM run_lines WHERE error IS NULL").fetchone()[0]
    assert 0 < kept < LINES
    again = llmops(tmp_path, "experiment", "-u", "mini", "-e", "pr", "--variants", "defaults")
    assert again.code == 0, again.err
    assert f"{LINES} lines, 0 failed (ran {lines_text(LINES - kept)})" in again.out

