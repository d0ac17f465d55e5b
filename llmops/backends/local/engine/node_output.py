"""What a flow's nodes print during a run goes to the debug log, not the terminal.

promptflow-tools prints `Exception occurs: ...` to stderr on every failed LLM call (30 lines for a
10-line run during an outage), and a flow's own print() calls would interleave with the progress
bars. `pf run` keeps such output in per-line logs; our line loop runs nodes on its own threads,
outside prompt flow's per-node capture, so the output of those threads is routed here: to the
`llmops.flow_output` logger at debug level (shown with --verbose). Every other thread writes as
before. The failure itself stays in each line's error text.

Prompt flow also captures node output itself, into each node run's `logs`, whenever its own writer is
sys.stdout at the moment a node prints. With several executors (one per variant) running lines at once,
their writers replace one another there in no fixed order, so a given print is captured by prompt flow or
reaches the router by chance. `log_captured` logs what prompt flow captured when the line is done, so each
print reaches the debug log exactly once either way.
"""

from __future__ import annotations

import io
import logging
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

NODE_THREAD_PREFIX = "llmops-node"
logger = logging.getLogger("llmops.flow_output")
_CAPTURE_TIMESTAMP = re.compile(r"^\[\d{4}-\d\d-\d\dT[\d:]+[^\]]*\] ")  # prompt flow stamps each captured write


class _NodeThreadsToLog(io.TextIOBase):
    def __init__(self, inner: TextIO, stream: str) -> None:
        self._inner = inner
        self._stream = stream

    def write(self, text: str) -> int:
        if not threading.current_thread().name.startswith(NODE_THREAD_PREFIX):
            return self._inner.write(text)
        if text.strip():
            logger.debug("node %s> %s", self._stream, text.rstrip("\n"))
        return len(text)

    def flush(self) -> None:
        self._inner.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno... of the real stream
        return getattr(self._inner, name)


@contextmanager
def node_output_logged() -> Iterator[None]:
    saved = sys.stdout, sys.stderr
    sys.stdout = _NodeThreadsToLog(saved[0], "stdout")  # a TextIO in all but name
    sys.stderr = _NodeThreadsToLog(saved[1], "stderr")
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def log_captured(node_run_infos: dict[str, Any]) -> None:
    """Log what prompt flow captured of a line's node output (see the module's docstring)."""
    if not logger.isEnabledFor(logging.DEBUG):
        return
    for info in node_run_infos.values():
        for stream, text in (getattr(info, "logs", None) or {}).items():
            for line in (text or "").splitlines():
                if line.strip():
                    logger.debug("node %s> %s", stream, _CAPTURE_TIMESTAMP.sub("", line))
