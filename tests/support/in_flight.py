"""Counts calls in progress at once, for tests and benchmarks that prove a concurrency limit held."""

from __future__ import annotations

import functools
import threading
from collections.abc import Awaitable, Callable
from typing import Any


class InFlight:
    def __init__(self) -> None:
        self.now = self.peak = 0
        self._lock = threading.Lock()

    def _enter(self) -> None:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def _leave(self) -> None:
        with self._lock:
            self.now -= 1

    def counting(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """`function`, counted while it runs."""

        @functools.wraps(function)
        def counted(*args: Any, **kwargs: Any) -> Any:
            self._enter()
            try:
                return function(*args, **kwargs)
            finally:
                self._leave()

        return counted

    def counting_async(self, function: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        """The coroutine function `function`, counted while it is awaited."""

        @functools.wraps(function)
        async def counted(*args: Any, **kwargs: Any) -> Any:
            self._enter()
            try:
                return await function(*args, **kwargs)
            finally:
                self._leave()

        return counted
