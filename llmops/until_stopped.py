"""Block a foreground server until it is asked to stop: Ctrl-C (SIGINT) or SIGTERM (`kill`, a service manager)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable


def wait_until_stopped(ready: Callable[[], None] = lambda: None) -> None:
    """Return on SIGINT or SIGTERM; the caller's `finally` then stops what it started. `ready` runs once both
    signals are handled: what it announces can be stopped from then on."""
    stopped = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stopped.set())
    ready()
    while not stopped.wait(1.0):  # a timeout, so the main thread runs the handlers promptly
        pass
