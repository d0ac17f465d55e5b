"""Run a generated Python snippet in a sandbox and say, in one line, how it ended.

The snippet runs in a separate process (`python -I -S sandbox_child.py`: no user site, no PYTHON*
variables, standard library only), in a new process group, with an empty environment (no key of this
process reaches it), in a fresh folder that is deleted afterwards. sandbox_child.py sets the limits and
the rules inside the child before the snippet's first line; this side enforces the wall-clock limit by
killing the whole process group, and reads at most `output_chars` of what the snippet printed.

Nothing a snippet does ends the caller: an endless loop, an allocation without bound, a socket, a crash
of the interpreter all come back as a SandboxResult with a status and a reason.

Module-level (not a @tool) so that the flow's nodes, the use case's tests and any other caller share it.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

CHILD = Path(__file__).with_name("sandbox_child.py")
SNIPPET = "snippet.py"
REFUSED_MARKER = "[sandbox] refused: "  # written by sandbox_child.py

OK = "ok"
ERROR = "error"  # the snippet raised, or the interpreter died of a signal
TIME_LIMIT = "time_limit"
MEMORY_LIMIT = "memory_limit"
OUTPUT_LIMIT = "output_limit"
REFUSED = "refused"  # it tried something the sandbox does not allow (network, processes, files outside)
STATUSES = (OK, ERROR, TIME_LIMIT, MEMORY_LIMIT, OUTPUT_LIMIT, REFUSED)


@dataclass(frozen=True)
class SandboxLimits:
    time_seconds: float = 5.0  # wall clock, and (rounded up) CPU seconds
    memory_mb: int = 256  # address space of the child, interpreter included (about 15 MB of it)
    file_kb: int = 1024  # the largest file it may write, stdout and stderr included
    output_chars: int = 4000  # kept of stdout and of stderr (the end of stderr, where the error is)


@dataclass(frozen=True)
class SandboxResult:
    status: str  # one of STATUSES
    reason: str  # one line for the user; "" when status is ok
    stdout: str
    stderr: str
    seconds: float


def run_snippet(code: str, limits: SandboxLimits | None = None) -> SandboxResult:
    limits = limits or SandboxLimits()
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="llmops-sandbox-"))
    try:
        folder = root / "work"
        folder.mkdir()
        (folder / SNIPPET).write_text(code, encoding="utf-8")
        settings = [str(folder), str(max(1, math.ceil(limits.time_seconds))), str(limits.memory_mb * 1024 * 1024),
                    str(limits.file_kb * 1024)]
        # Outputs go to files outside the snippet's folder: a pipe read with communicate() would hold all
        # that a printing loop writes in this process's memory; a file is capped by RLIMIT_FSIZE.
        with (root / "stdout").open("w+b") as stdout, (root / "stderr").open("w+b") as stderr:
            returncode, timed_out = _wait(
                [sys.executable, "-I", "-S", str(CHILD), *settings], stdout, stderr, limits.time_seconds)
            out, err = _read(stdout, limits.output_chars, tail=False), _read(stderr, limits.output_chars, tail=True)
        status, reason = _verdict(returncode, timed_out, err, limits)
        return SandboxResult(status, reason, out, err, round(time.monotonic() - started, 3))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _wait(command: list[str], stdout: IO[bytes], stderr: IO[bytes], seconds: float) -> tuple[int, bool]:
    """The child's return code, and whether the wall clock ran out (then its process group is killed)."""
    # start_new_session: the child leads its own process group, so one killpg ends whatever it started.
    # env={} (plus a UTF-8 locale): no variable of this process, keys included, reaches the snippet.
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                             env={"LC_ALL": "C.UTF-8"}, start_new_session=True, close_fds=True)
    try:
        return child.wait(timeout=seconds), False
    except subprocess.TimeoutExpired:
        return _kill(child), True
    except BaseException:
        _kill(child)
        raise


def _kill(child: subprocess.Popen[bytes]) -> int:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        child.kill()
    return child.wait()


def _read(file: IO[bytes], chars: int, tail: bool) -> str:
    size = file.seek(0, os.SEEK_END)
    keep = chars * 4  # bytes enough for `chars` characters of UTF-8
    file.seek(max(0, size - keep) if tail else 0)
    text = file.read(keep).decode("utf-8", errors="replace")
    return text[-chars:] if tail else text[:chars]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _verdict(returncode: int, timed_out: bool, stderr: str, limits: SandboxLimits) -> tuple[str, str]:
    refused = [line.split(REFUSED_MARKER, 1)[1] for line in stderr.splitlines() if REFUSED_MARKER in line]
    if refused:  # first: a snippet may catch the PermissionError and go on, or loop after it
        return REFUSED, f"refused: {refused[0]}"
    if timed_out or returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return TIME_LIMIT, f"stopped: ran over its {limits.time_seconds:g} s time limit"
    if "MemoryError" in stderr:
        return MEMORY_LIMIT, f"stopped: ran out of its {limits.memory_mb} MB memory limit"
    if "[Errno 27] File too large" in stderr:
        return OUTPUT_LIMIT, f"stopped: wrote more than its {limits.file_kb} KB output limit"
    if returncode < 0:
        return ERROR, f"crashed: the interpreter died of signal {_signal_name(-returncode)}"
    if returncode != 0:
        return ERROR, f"error: {_last_line(stderr) or f'exit code {returncode}'}"
    return OK, ""


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)
