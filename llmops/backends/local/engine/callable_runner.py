"""Lines of a flow that is a Python callable: a loaded prompty, or a flex flow's entry (its function, or the
object its class made). A LineRunner (line_runner.py), as prompt flow's script executor would run it, in process.

A line calls the callable with its inputs: a synchronous one on the node pool shared by every line (as DAG nodes
run, see promptflow_private.py), an async one on the event loop. What it returns becomes the line's outputs as prompt
flow makes them: a dict (or a dataclass) is the outputs, any other value is the output named `output`, and a
generator (a streamed answer) is joined into one string. Each line runs inside its run's standard variables
(line_environment.py), so a client the code builds from them reaches the gateway at the run's route.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import inspect
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from llmops.backends.local.engine.line_environment import line_environment
from llmops.backends.types import LineOutcome
from llmops.errors import LlmopsError

logger = logging.getLogger(__name__)
OUTPUT = "output"  # prompt flow's name for the output of a flow that returns one value


@dataclass(frozen=True)
class Entry:
    """A loaded callable flow."""

    name: str  # as errors name it: the function, class or prompty
    call: Callable[..., Any]
    parameters: frozenset[str] | None  # the inputs it takes; None: any (it has **kwargs, or a prompty's)
    aggregate: Callable[[list[Any]], Any] | None = None  # a flex class's __aggregate__
    is_async: bool = False  # a coroutine (or async generator) function: awaited on the event loop


def is_async_callable(call: Any) -> bool:
    """A coroutine or async generator function, or an object whose __call__ is one."""
    method = call if inspect.isfunction(call) or inspect.ismethod(call) else type(call).__call__
    checks = (inspect.iscoroutinefunction, inspect.isasyncgenfunction)
    return any(check(f) for f in (call, method) for check in checks)


class AttrDict(dict[str, Any]):
    """A line's outputs as `__aggregate__` gets them in prompt flow: a dict whose keys read as attributes too."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def plain(value: Any) -> Any:
    """A JSON-able value (outputs are stored and served as JSON)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return str(value)


def _joined(value: Any) -> Any:
    """A streamed answer (a generator of text chunks) as one string; anything else as it is."""
    if isinstance(value, Iterator):
        return "".join(str(chunk) for chunk in value)
    if isinstance(value, Mapping):
        return {k: _joined(v) for k, v in value.items()}
    return value


async def _finished(value: Any) -> Any:
    """What a call returned, awaited and joined: a sync wrapper (prompt flow's @trace) around an async function
    hands back a coroutine or an async generator."""
    if inspect.isawaitable(value):
        value = await value
    if inspect.isasyncgen(value):
        return "".join([str(chunk) async for chunk in value])
    return _joined(value)


def _unfinished(value: Any) -> bool:
    return inspect.isawaitable(value) or inspect.isasyncgen(value)


def _outputs(result: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        result = dataclasses.asdict(result)
    if isinstance(result, Mapping):
        return {str(k): plain(v) for k, v in result.items()}
    return {OUTPUT: plain(result)}


class CallableRunner:
    """`load` makes the Entry (once, inside `environment`); each line runs inside `environment` too."""

    def __init__(self, load: Callable[[], Entry], environment: Mapping[str, str | None], what: str) -> None:
        self._load = load
        self._environment = dict(environment)
        self._what = what  # the flow, for logs
        self._entry: Entry | None = None
        self._pool: Executor | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        self._get_entry()

    def _get_entry(self) -> Entry:
        with self._lock:
            if self._entry is None:
                logger.debug("loading %s", self._what)
                try:
                    with line_environment(self._environment):  # a class entry may build its client in __init__
                        self._entry = self._load()
                except LlmopsError:
                    raise
                except Exception as exc:  # the flow's own code failed as it loaded: say which flow
                    raise LlmopsError(f"{self._what} could not be loaded: ({type(exc).__name__}) {exc}") from exc
            return self._entry

    def use_node_pool(self, pool: Executor) -> None:
        self._pool = pool

    def threads_for(self, lines: int) -> int:
        return max(1, lines)

    def _arguments(self, entry: Entry, inputs: dict[str, Any]) -> dict[str, Any]:
        if entry.parameters is None:
            return dict(inputs)
        return {k: v for k, v in inputs.items() if k in entry.parameters}  # as prompt flow: extra columns are not

    def _call(self, entry: Entry, inputs: dict[str, Any]) -> Any:
        return _joined(entry.call(**self._arguments(entry, inputs)))

    def run_line(self, index: int, inputs: dict[str, Any]) -> LineOutcome:
        started = time.perf_counter()
        try:
            entry = self._get_entry()
            with line_environment(self._environment):
                result = self._call(entry, inputs)
                if _unfinished(result):
                    result = asyncio.run(_finished(result))
        except Exception as exc:  # a failed line is an outcome, never the end of the batch
            return self._failed(index, inputs, exc, started)
        return self._done(index, inputs, entry, result, started)

    async def run_line_async(self, index: int, inputs: dict[str, Any]) -> LineOutcome:
        started = time.perf_counter()
        try:
            entry = self._get_entry()
            with line_environment(self._environment):
                if entry.is_async:
                    result = await _finished(entry.call(**self._arguments(entry, inputs)))
                else:
                    # The line's context (its variables among them) goes with the call to the pool's thread.
                    context = contextvars.copy_context()
                    result = await asyncio.get_running_loop().run_in_executor(
                        self._pool, context.run, self._call, entry, inputs)
                    if _unfinished(result):
                        result = await _finished(result)
        except Exception as exc:  # a failed line is an outcome, never the end of the batch
            return self._failed(index, inputs, exc, started)
        return self._done(index, inputs, entry, result, started)

    def _done(self, index: int, inputs: dict[str, Any], entry: Entry, result: Any, started: float) -> LineOutcome:
        # A class with __aggregate__ gets each line's result as it was returned: keep it with the line.
        kept = {OUTPUT: plain(result)} if entry.aggregate is not None else None
        return LineOutcome(index, inputs, _outputs(result), None, time.perf_counter() - started, kept)

    def _failed(self, index: int, inputs: dict[str, Any], error: Exception, started: float) -> LineOutcome:
        # Worded as prompt flow words a failed flex line, so failures group the same whatever the format.
        where = self._entry.name if self._entry is not None else self._what
        text = f"Execution failure in '{where}': ({type(error).__name__}) {error}"
        return LineOutcome(index, inputs, {}, text, time.perf_counter() - started)

    def aggregate(self, outcomes: list[LineOutcome]) -> dict[str, Any]:
        entry = self._get_entry()
        done = [o for o in outcomes if o.error is None and o.aggregation_inputs]
        if entry.aggregate is None or not done:
            return {}
        results = [o.aggregation_inputs[OUTPUT] for o in done if o.aggregation_inputs is not None]
        try:
            with line_environment(self._environment):
                metrics = entry.aggregate([AttrDict(r) if isinstance(r, dict) else r for r in results])
        except Exception as exc:  # as prompt flow: the run keeps its lines, without metrics
            logger.warning("%s: __aggregate__ failed, so the run has no metrics: (%s) %s", self._what,
                           type(exc).__name__, exc)
            return {}
        if not isinstance(metrics, Mapping):
            logger.warning("%s: __aggregate__ returned %s, not a dict of metrics; the run has no metrics",
                           self._what, type(metrics).__name__)
            return {}
        return {str(k): plain(v) for k, v in metrics.items()}
