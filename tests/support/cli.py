"""Run one llmops command in this process, as `llmops --root ROOT ARGS...` would, and give back what it did.

In process because it is fast (no interpreter start, prompt flow imported once per test session). `out` and
`err` hold what llmops prints and logs, not what prompt flow's own loggers or a flow's nodes print: those
write to the streams of the moment they were made, or to the file descriptors. So tests about what reaches
the terminal start a subprocess, as do tests about the process itself (signals and Ctrl-C, an environment of
their own, several commands at once, what `--help` imports); each says why where it does.

main() reconfigures logging (a handler on the root logger for this call's stderr, the `llmops` logger's
level) and a command may set environment variables (prompt flow's home); both are put back afterwards, so
one test's command leaves nothing behind for the next.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import NamedTuple

from llmops.cli.main import main


class Done(NamedTuple):
    """A finished command: its exit code and what it printed."""

    code: int
    out: str
    err: str


def llmops(root: Path | None, *args: str, env: Mapping[str, str | None] | None = None) -> Done:
    """`llmops --root ROOT ARGS...` in process; `env` sets variables for the command (None unsets one)."""
    argv = [*(["--root", str(root)] if root is not None else []), *args]
    out, err = io.StringIO(), io.StringIO()
    with _environment(env or {}), _logging_restored(), redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    return Done(code, out.getvalue(), err.getvalue())


def llmops_process(root: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 240) -> Done:
    """The same command in a process of its own, for tests where the process is the point."""
    repo = Path(__file__).resolve().parents[2]
    environment = {**os.environ, "PYTHONPATH": str(repo), **(env or {})}
    done = subprocess.run([sys.executable, "-m", "llmops", "--root", str(root), *args], env=environment,
                          capture_output=True, text=True, timeout=timeout)
    return Done(done.returncode, done.stdout, done.stderr)


@contextmanager
def _environment(changes: Mapping[str, str | None]) -> Iterator[None]:
    saved = dict(os.environ)
    for name, value in changes.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def _logging_restored() -> Iterator[None]:
    root, package = logging.getLogger(), logging.getLogger("llmops")
    handlers, root_level, package_level = list(root.handlers), root.level, package.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(root_level)
        package.setLevel(package_level)
