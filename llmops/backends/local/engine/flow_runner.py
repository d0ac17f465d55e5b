"""Run a prompt flow line by line with its in-process executor, many lines at once.

Prompt flow's batch engine pays a per-line cost that grows with the lines a worker has done (see
FACTS.md); its in-process executor driven by our own concurrent line runner stays linear and keeps
LLM calls concurrent, which is what an experiment over many variants needs.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.backends.local.engine.line_runner import LineRunner
from llmops.backends.local.engine.node_output import log_captured, node_output_logged
from llmops.backends.local.engine.node_pool import NodePool
from llmops.backends.types import LineOutcome

logger = logging.getLogger(__name__)


def _error_text(run_info: Any) -> str:
    error = getattr(run_info, "error", None) or {}
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or "line failed")
    return str(error)


def _plain(value: Any) -> Any:
    """Outputs as JSON-able values (prompt flow may hand back generators or custom objects)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


@contextmanager
def _first_interrupt_sets(stop: threading.Event) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread (the endpoint server runs lines elsewhere)
        return

    def on_interrupt(signum: int, frame: object) -> None:
        # The next Ctrl-C interrupts: restored first, so one that comes while this handler runs is not lost.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        stop.set()
        logger.warning("interrupt: finishing the lines in flight, starting no new ones (Ctrl-C again to stop now)")

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _outcome(index: int, inputs: dict[str, Any], result: Any, started: float) -> LineOutcome:
    log_captured(result.node_run_infos or {})
    status = str(getattr(result.run_info.status, "value", result.run_info.status))
    outputs = {k: _plain(v) for k, v in (result.output or {}).items() if k != "line_number"}
    error = None if status == "Completed" else _error_text(result.run_info)
    return LineOutcome(index, inputs, outputs if error is None else {}, error, time.perf_counter() - started,
                       _plain(result.aggregation_inputs or {}))


def _broken(index: int, inputs: dict[str, Any], error: Exception, started: float) -> LineOutcome:
    return LineOutcome(index, inputs, {}, f"{type(error).__name__}: {error}", time.perf_counter() - started)


def _unrecorded_storage() -> Any:
    """Prompt flow's run storage that keeps nothing: a line's run records stay in memory, for its outcome only."""
    from promptflow.storage import AbstractRunStorage

    class Unrecorded(AbstractRunStorage):  # type: ignore[misc]  # prompt flow is untyped
        def persist_node_run(self, run_info: Any) -> None:
            pass

        def persist_flow_run(self, run_info: Any) -> None:
            pass

    return Unrecorded()


class FlowRunner:
    """One DAG flow (a materialized dag in a snapshot folder) with fixed connections: a LineRunner.

    `records=False` (the endpoint server) keeps no run records: prompt flow's default storage walks the inputs
    and outputs of the line and of each node, twice per line, turning images into references for the run's
    records, which a LineOutcome never reads (its outputs are the line's own). The outcome is the same either
    way, for about 35 us less CPU per line on a one-node flow (0.50 against 0.535 ms; see endpoint_server.py).
    """

    def __init__(self, working_dir: Path, dag_file: str, connections: dict[str, dict[str, Any]], *,
                 records: bool = True) -> None:
        self.working_dir = working_dir
        self.dag_file = dag_file
        self._connections = connections
        self._records = records
        self._executor: Any = None
        self._lock = threading.Lock()

    def _get_executor(self) -> Any:
        with self._lock:
            if self._executor is None:
                from promptflow.executor import FlowExecutor

                logger.debug("creating a prompt flow executor for %s", self.working_dir / self.dag_file)
                self._executor = FlowExecutor.create(
                    self.working_dir / self.dag_file, self._connections, working_dir=self.working_dir,
                    raise_ex=False, storage=None if self._records else _unrecorded_storage(),
                )
            return self._executor

    def load(self) -> None:
        self._get_executor()

    def use_node_pool(self, pool: Executor) -> None:
        from llmops.backends.local.engine.promptflow_private import share_node_pool

        share_node_pool(self._get_executor(), pool)  # False: each line brings its own pool (said once in the log)

    def threads_for(self, lines: int) -> int:
        from llmops.backends.local.engine.promptflow_private import pool_size

        return pool_size(self._get_executor(), lines)

    def run_line(self, index: int, inputs: dict[str, Any]) -> LineOutcome:
        started = time.perf_counter()
        try:
            result = self._get_executor().exec_line(inputs, index=index)
        except Exception as exc:  # a broken line must not stop the batch
            return _broken(index, inputs, exc, started)
        return _outcome(index, inputs, result, started)

    async def run_line_async(self, index: int, inputs: dict[str, Any]) -> LineOutcome:
        """One line on the running event loop (its sync nodes on the shared node pool, see promptflow_private)."""
        started = time.perf_counter()
        try:
            result = await self._get_executor().exec_line_async(inputs, index=index)
        except Exception as exc:  # a broken line must not stop the batch
            return _broken(index, inputs, exc, started)
        return _outcome(index, inputs, result, started)

    def aggregate(self, outcomes: list[LineOutcome]) -> dict[str, Any]:
        """Run the aggregation nodes over the succeeded lines; returns the metrics they logged."""
        executor = self._get_executor()
        if not executor.has_aggregation_node:
            return {}
        done = [o for o in outcomes if o.error is None]
        if not done:
            return {}
        input_names = list(done[0].inputs)
        inputs = {name: [o.inputs.get(name) for o in done] for name in input_names}
        keys = sorted({k for o in done for k in (o.aggregation_inputs or {})})
        aggregation_inputs = {k: [(o.aggregation_inputs or {}).get(k) for o in done] for k in keys}
        result = executor.exec_aggregation(inputs, aggregation_inputs)
        return {k: _plain(v) for k, v in (getattr(result, "metrics", None) or {}).items()}


@dataclass(frozen=True)
class LineBatch:
    """The lines one runner still has to run, and what to do with each finished one."""

    runner: LineRunner
    lines: list[tuple[int, dict[str, Any]]]
    on_done: Callable[[LineOutcome], None] | None = None


def run_batches(batches: list[LineBatch], concurrency: int) -> None:
    """Run the lines of several runs `concurrency` at a time on one event loop.

    Lines are taken run by run, so runs finish in order, but one run's last lines overlap the next
    run's first ones instead of leaving slots idle. The sync API would start a thread pool per line,
    and on 2 cores thread start-up alone costs more than a python-only line; prompt flow's async
    line API lets all lines share one loop, and their sync nodes (LLM calls included) run on one
    node pool shared by every line.
    """
    batches = [b for b in batches if b.lines]
    if not batches:
        return  # before importing prompt flow (over a second): a fully reused step needs none of it
    # Made before the executors: prompt flow's per-node log capture writes through to whatever stderr
    # was when an executor was created, so that must already be the routing one.
    with node_output_logged():
        _run_lines(batches, concurrency)


def _run_lines(batches: list[LineBatch], concurrency: int) -> None:
    runners = list({id(b.runner): b.runner for b in batches}.values())
    for runner in runners:
        runner.load()  # a flow that cannot load fails before any line
    node_pool = NodePool(max(r.threads_for(concurrency) for r in runners))
    for runner in runners:
        runner.use_node_pool(node_pool)
    pending = iter([(b, i, inputs) for b in batches for i, inputs in b.lines])
    stop = threading.Event()
    failures: list[Exception] = []

    async def worker() -> None:
        for batch, index, inputs in pending:  # the workers share one iterator: each line runs once
            if stop.is_set():
                return
            outcome = await batch.runner.run_line_async(index, inputs)
            if batch.on_done and not failures:
                try:
                    batch.on_done(outcome)
                except Exception as exc:  # saving failed (a full disk): start no new line, raise once all ended
                    failures.append(exc)
                    stop.set()

    async def drive() -> None:
        await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))

    # The first Ctrl-C does not cancel the lines in flight: they finish and are handed to on_done (a
    # resume reuses them), no new line starts, and then KeyboardInterrupt is raised. A second Ctrl-C
    # interrupts at once: asyncio.run cancels every line, each cancels its node tasks (see
    # promptflow_private), and a node thread still running does not hold the process (node_pool.py).
    # An on_done that fails stops the lines as the first Ctrl-C does, so its error is raised once,
    # not once per line still running.
    try:
        with _first_interrupt_sets(stop):
            asyncio.run(drive())
    finally:
        node_pool.shutdown(wait=False, cancel_futures=True)
    if failures:
        raise failures[0]
    if stop.is_set():
        raise KeyboardInterrupt
