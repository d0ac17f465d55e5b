"""Children that a test interrupts with SIGINT, as Ctrl-C does, must take SIGINT whoever started the suite.

A shell without job control starts a background command (`make test &`, a CI step's `cmd &`) with SIGINT
ignored, and its children inherit that; Python then installs no KeyboardInterrupt handler, so the test's Ctrl-C
would reach nobody and the test would wait out its timeout. Pass `preexec_fn=takes_ctrl_c` to Popen."""

from __future__ import annotations

import signal


def takes_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
