"""azure-ai-ml's own stderr lines, kept off the terminal while it submits, tags and downloads a job.

Some of its modules give their logger a stderr handler of their own at INFO ("Downloading artifact ...",
"Class X: This is an experimental class ..."), which the CLI's quiet_sdk_logs cannot reach: they are made
when the SDK first loads a schema, deep inside the call; and its uploads print a color reset to stderr.
llmops says what happens itself; with --verbose (llmops logs debug) the SDK speaks too. An error still
raises: only what the SDK writes is kept back.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr


@contextmanager
def sdk_quiet() -> Iterator[None]:
    if logging.getLogger("llmops").isEnabledFor(logging.DEBUG):
        yield
        return
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # for the call only: nothing else logs while this thread waits on it
    try:
        with redirect_stderr(io.StringIO()):  # llmops' own log handler keeps the real stream
            yield
    finally:
        logging.disable(previous)
