"""Environment variables as one line sees them: the standard OpenAI variables of its own run, in one process.

Flex flows (and prompties they load) may build their OpenAI client from AZURE_OPENAI_ENDPOINT, OPENAI_API_KEY
and the like, as prompt flow's examples do. Each run must reach the gateway at its own route (its tag names
the run and variant for the cache, the cassettes and the accounting), but lines of several runs, and requests
for several deployments, run at once in this process, which has one environment. So a line's variables are a
context-local overlay read in front of `os.environ`: set around each line (context variables follow the line
into the threads its calls run on), invisible to every other line and thread. A value of None hides a
variable, so a real key in the process environment is never what a flow's client picks up.

The overlay is read by `os.environ[...]`, `.get()`, `in` and `os.getenv()`, which is how the OpenAI SDK and
prompt flow read them; a subprocess a flow starts gets the process environment, without the overlay.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

_overlay: ContextVar[Mapping[str, str | None] | None] = ContextVar("llmops_line_environment", default=None)
_install_lock = threading.Lock()


class _OverlaidEnviron(os._Environ[str]):
    """os.environ's own class, reading the current line's overlay first (the same object, so every module that
    holds a reference to os.environ sees it)."""

    def __getitem__(self, key: str) -> str:
        overlay = _overlay.get()
        if overlay is not None and key in overlay:
            value = overlay[key]
            if value is None:
                raise KeyError(key)
            return value
        return super().__getitem__(key)

    def __iter__(self) -> Iterator[str]:
        """The keys as the line sees them, so copies (dict(os.environ), os.environ.copy()) agree with reads."""
        overlay = _overlay.get()
        if overlay is None:
            yield from super().__iter__()
            return
        process = list(super().__iter__())
        yield from (key for key in process if overlay.get(key, "") is not None)
        yield from (key for key, value in overlay.items() if value is not None and key not in process)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _install() -> None:
    with _install_lock:
        if type(os.environ) is not _OverlaidEnviron:
            os.environ.__class__ = _OverlaidEnviron


@contextmanager
def line_environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Within the block (and the threads it hands work to with its context), `values` stand in for the
    process's variables of those names."""
    _install()
    token = _overlay.set(dict(values))
    try:
        yield
    finally:
        _overlay.reset(token)
