"""On a terminal, `llmops run` draws a bar per run on stderr (prompt flow's log capture must not swallow it)."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import sys
import termios
from pathlib import Path

from tests.support.mini_use_case import write_use_case

REPO = Path(__file__).resolve().parents[2]


def run_on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    # A process on a pseudo-terminal: the bars are drawn only when stderr is a terminal.
    pid, fd = pty.fork()
    if pid == 0:  # the child: llmops with a pseudo-terminal as stdin, stdout and stderr
        os.execve(sys.executable, [sys.executable, "-m", "llmops", *args], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    output = bytearray()
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, output.decode(errors="replace")
    return output.decode(errors="replace")


def test_every_run_gets_a_finished_bar(tmp_path: Path) -> None:
    write_use_case(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    text = run_on_a_terminal(["--root", str(tmp_path), "run", "-u", "mini", "-e", "dev"], env)
    finished = {line.split(":")[0] for line in text.replace("\r", "\n").splitlines() if "100%|" in line}
    assert finished == {"defaults (mini_dev)", "classify.variant_1 (mini_dev)",
                        "defaults.eval (mini_dev_test)", "classify.variant_1.eval (mini_dev_test)"}, text
