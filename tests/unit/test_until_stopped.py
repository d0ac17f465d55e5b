"""A foreground server (`llmops embedded serve`, the emulator launcher) returns from wait_until_stopped on Ctrl-C
or SIGTERM, so its `finally` stops what it started, and the process exits 0 without a traceback."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

SERVER = ("from llmops.until_stopped import wait_until_stopped\n"
          "try:\n    wait_until_stopped(ready=lambda: print('up', flush=True))\n"
          "finally:\n    print('cleaned up', flush=True)\n")


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_returns_and_the_cleanup_runs(number: signal.Signals) -> None:
    process = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None and process.stdout.readline() == "up\n"
    process.send_signal(number)
    out, err = process.communicate(timeout=30)
    assert (process.returncode, out, err) == (0, "cleaned up\n", "")
