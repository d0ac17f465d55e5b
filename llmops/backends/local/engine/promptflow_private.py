"""Every use of prompt flow's private API, in one place: checked once, with a fallback to the public API.

Why. The engine runs a DAG's lines on prompt flow's public async line API (`FlowExecutor.exec_line_async`).
Behind it, upstream's async node scheduler creates a ThreadPoolExecutor for every line and starts fresh threads
for its sync nodes (an LLM tool, a python node). Starting a thread waits for the new thread to take the GIL,
which under load costs milliseconds and blocks the event loop that drives every other line; over an experiment
that is most of the engine's overhead. So, per executor instance (never globally), this module swaps in a
subclass of that scheduler whose sync nodes run on one pool shared by every line (node_pool.NodePool).

What it relies on, written against promptflow 1.18.5 (tests/unit/test_promptflow_private.py checks each one in
the installed prompt flow with inspect, and fails naming the one that changed):

- `promptflow.executor._async_nodes_scheduler` (a private module):
  - `AsyncNodesScheduler`, subclassed; `__init__(tools_manager, node_concurrency)` called as upstream calls it.
  - `AsyncNodesScheduler._execute_with_thread_pool(executor, nodes, inputs, context, timeout_seconds)`: upstream's
    walk of a line's DAG, given the shared pool instead of a new one. It also times a line out as upstream does
    (cancels the line's node tasks with `cancel_tasks`, raises LineExecutionTimeoutError).
  - `AsyncNodesScheduler._create_node_task(node, dag_manager, context, executor)`: extended to keep the line's
    node tasks, so a cancelled line can cancel them.
  - `AsyncNodesScheduler._sync_function_to_async_task(executor, context, node, f, kwargs)` (a staticmethod):
    replaced, to carry the line's context variables to the shared pool's thread (a per-line pool's initializer
    copied them); it calls `FlowExecutionContext.invoke_tool(node, f, kwargs)` as upstream's does.
  - `AsyncNodesScheduler.run_task_with_semaphore(coroutine)`, which reads `self._semaphore`: the per-line bound
    on nodes in flight, made on the running loop here as upstream's `execute` makes it.
  - `AsyncNodesScheduler.cancel_tasks(tasks)`: upstream's way to cancel node tasks, used on a cancelled line.
  - `PF_ASYNC_NODE_SCHEDULER_EXECUTE_TASK_NAME`: the name upstream gives the scheduler's own task.
- `promptflow._core.flow_execution_context.FlowExecutionContext.invoke_tool(node, f, kwargs)`: see above.
- `promptflow.executor.FlowExecutor` (public class, private members): `_traverse_nodes_async(inputs, context)`,
  replaced on the instance to use the pooled scheduler; `_extract_outputs(nodes_outputs, bypassed_nodes,
  flow_inputs)` and the instance attributes `_flow` (its `.nodes`, each node's `.aggregation`), `_tools_manager`,
  `_node_concurrency` and `_line_timeout_sec`, read as upstream's `_traverse_nodes_async` reads them.

Fallback. When one of them is missing or its signature differs (checked once, on first use), the executors are
left as they are: lines run on the public line API alone, each starting its own thread pool. Results are the
same (the same scheduler walks the same DAG); runs are slower (see SLOWER below), and the log says so once, at
warning level, naming what changed.

Cancellation, as upstream: the scheduler's task carries upstream's name; a line timeout is upstream's own code;
a cancelled line (a second Ctrl-C, or any caller cancelling its task) cancels its node tasks with upstream's
`cancel_tasks`, so a node that has not started never starts, and re-raises. Upstream then ends the whole process with
`os._exit(0)` once every task is done, because a sync node's thread cannot be stopped and would keep the process
alive; here the node pool's threads are daemon threads (node_pool.py), which keeps the process from waiting for
them without ending it from a side thread (which would make an interrupted command exit 0, and end an endpoint
server over one cancelled request). With the fallback, upstream's scheduler answers, os._exit included.
Left out of upstream's `execute`: its opt-in monitor of long-running nodes (PF_LONG_RUNNING_LOGGING_INTERVAL).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import importlib
import inspect
import logging
import threading
import types
from concurrent.futures import Executor
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Literal

logger = logging.getLogger(__name__)

TESTED_WITH = "1.18.5"
SCHEDULER = "promptflow.executor._async_nodes_scheduler"
CONTEXT = "promptflow._core.flow_execution_context"
EXECUTOR = "promptflow.executor"
# Measured with benchmarks/engine_overhead.py (10k lines of a python-only flow, 2 cores): 1.1-1.3 ms per line
# pooled, 2.9-3.4 ms on the public API; benchmarks/experiment_throughput.py (LLM calls at 100 ms) the same both ways.
SLOWER = "about 2.5x the time per line on a python-only flow, about the same when LLM calls dominate"


@dataclass(frozen=True)
class Relied:
    """One private name this module relies on, and what it must be."""

    module: str
    name: str  # dotted, inside the module
    kind: Literal["coroutine", "function", "value"]
    parameters: tuple[str, ...] = ()  # in order, as inspect.signature gives them (no `self` for a staticmethod)

    @property
    def qualified(self) -> str:
        return f"{self.module}.{self.name}"


CONTRACT = (
    Relied(SCHEDULER, "PF_ASYNC_NODE_SCHEDULER_EXECUTE_TASK_NAME", "value"),
    Relied(SCHEDULER, "AsyncNodesScheduler.__init__", "function", ("self", "tools_manager", "node_concurrency")),
    Relied(SCHEDULER, "AsyncNodesScheduler._execute_with_thread_pool", "coroutine",
           ("self", "executor", "nodes", "inputs", "context", "timeout_seconds")),
    Relied(SCHEDULER, "AsyncNodesScheduler._create_node_task", "function",
           ("self", "node", "dag_manager", "context", "executor")),
    Relied(SCHEDULER, "AsyncNodesScheduler._sync_function_to_async_task", "coroutine",
           ("executor", "context", "node", "f", "kwargs")),
    Relied(SCHEDULER, "AsyncNodesScheduler.run_task_with_semaphore", "coroutine", ("self", "coroutine")),
    Relied(SCHEDULER, "AsyncNodesScheduler.cancel_tasks", "coroutine", ("self", "tasks")),
    Relied(CONTEXT, "FlowExecutionContext.invoke_tool", "function", ("self", "node", "f", "kwargs")),
    Relied(EXECUTOR, "FlowExecutor._traverse_nodes_async", "coroutine", ("self", "inputs", "context")),
    Relied(EXECUTOR, "FlowExecutor._extract_outputs", "function",
           ("self", "nodes_outputs", "bypassed_nodes", "flow_inputs")),
)
# Set in FlowExecutor.__init__, so only an instance has them.
EXECUTOR_ATTRIBUTES = ("_flow", "_tools_manager", "_node_concurrency", "_line_timeout_sec")


def _resolve(relied: Relied) -> Any:
    target: Any = importlib.import_module(relied.module)
    for part in relied.name.split("."):
        target = getattr(target, part)
    return target


def contract_problem(relied: Relied) -> str | None:
    """What is wrong with `relied` in the installed prompt flow, or None."""
    try:
        target = _resolve(relied)
    except (ImportError, AttributeError):
        return f"{relied.qualified} is missing"
    if relied.kind == "value":
        return None
    if not callable(target):
        return f"{relied.qualified} is not callable"
    if inspect.iscoroutinefunction(target) != (relied.kind == "coroutine"):
        return f"{relied.qualified} is {'not ' if relied.kind == 'coroutine' else ''}a coroutine function"
    try:
        found = tuple(inspect.signature(target).parameters)
    except (TypeError, ValueError):  # a builtin or C function has none to read
        return f"{relied.qualified} has no signature to check"
    if found != relied.parameters:
        return f"{relied.qualified} takes ({', '.join(found)}), not ({', '.join(relied.parameters)})"
    return None


_warned = False
_warned_lock = threading.Lock()  # the endpoint server's worker threads load flows at once


def _fall_back(problem: str) -> None:
    global _warned
    with _warned_lock:
        if _warned:
            return
        _warned = True
    try:
        installed = metadata.version("promptflow-core")
    except metadata.PackageNotFoundError:
        installed = "unknown"
    logger.warning("prompt flow's private node scheduler is not what llmops was written against (%s; written for "
                   "promptflow %s, installed %s): lines run on prompt flow's public line API, each starting its own "
                   "thread pool, which is slower (%s); results are the same", problem, TESTED_WITH, installed, SLOWER)


@functools.cache
def _pooled_scheduler() -> Any:
    """The pooled scheduler class, or None when prompt flow's private pieces are not what it needs (said once)."""
    problem = next((p for p in map(contract_problem, CONTRACT) if p), None)
    if problem is not None:
        _fall_back(problem)
        return None
    module = importlib.import_module(SCHEDULER)
    return _define_pooled_scheduler(module.AsyncNodesScheduler, module.PF_ASYNC_NODE_SCHEDULER_EXECUTE_TASK_NAME)


def recheck() -> None:
    """Check prompt flow's private pieces again on next use, and warn again (for tests that change them)."""
    global _warned
    with _warned_lock:
        _warned = False
    _pooled_scheduler.cache_clear()


def _usable(executor: Any) -> Any:
    """The pooled scheduler class if `executor` can use it, else None (said once)."""
    scheduler = _pooled_scheduler()
    if scheduler is None:
        return None
    missing = [name for name in EXECUTOR_ATTRIBUTES if not hasattr(executor, name)]
    if missing:
        _fall_back(f"a FlowExecutor has no {', '.join(missing)}")
        return None
    return scheduler


def _define_pooled_scheduler(base: Any, task_name: str) -> Any:
    class PooledNodesScheduler(base):
        def __init__(self, tools_manager: Any, node_concurrency: int, pool: Executor) -> None:
            super().__init__(tools_manager, node_concurrency)
            self._llmops_pool = pool
            self._llmops_concurrency = node_concurrency
            self._llmops_node_tasks: list[asyncio.Task[Any]] = []

        async def execute(self, nodes: Any, inputs: Any, context: Any, timeout_seconds: int | None = None) -> Any:
            # As upstream's execute: the semaphore made on the running loop, the task named as upstream names it.
            self._semaphore = asyncio.Semaphore(self._llmops_concurrency)
            task = asyncio.current_task()
            if task is not None:
                task.set_name(task_name)
            try:
                return await self._execute_with_thread_pool(self._llmops_pool, nodes, inputs, context,
                                                            timeout_seconds)
            except asyncio.CancelledError:
                pending = [t for t in self._llmops_node_tasks if not t.done()]
                if pending:
                    logger.debug("line cancelled: cancelling its %d node task(s) still pending", len(pending))
                    await self.cancel_tasks(pending)
                raise

        def _create_node_task(self, node: Any, dag_manager: Any, context: Any, executor: Any) -> Any:
            task = super()._create_node_task(node, dag_manager, context, executor)
            self._llmops_node_tasks.append(task)
            return task

        @staticmethod
        async def _sync_function_to_async_task(executor: Any, context: Any, node: Any, f: Any, kwargs: Any) -> Any:
            # The per-line pool copied the line's context variables into its threads; a shared pool gets them
            # per call instead (a fresh copy each, since one Context cannot be entered twice at once).
            line_context = contextvars.copy_context()
            return await asyncio.get_running_loop().run_in_executor(
                executor, line_context.run, context.invoke_tool, node, f, kwargs)

    return PooledNodesScheduler


def share_node_pool(executor: Any, pool: Executor) -> bool:
    """Make `executor` (a FlowExecutor) run the sync nodes of its async lines on `pool` (again: no-op).

    False when prompt flow's private pieces are not what this module needs: the executor is left as it is.
    """
    if getattr(executor, "_llmops_node_pool", None) is pool:
        return True
    scheduler = _usable(executor)
    if scheduler is None:
        return False
    executor._llmops_node_pool = pool

    async def traverse_nodes_async(self: Any, inputs: Any, context: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        batch_nodes = [node for node in self._flow.nodes if not node.aggregation]
        line = scheduler(self._tools_manager, self._node_concurrency, pool)
        nodes_outputs, bypassed_nodes = await line.execute(batch_nodes, inputs, context, self._line_timeout_sec)
        return self._extract_outputs(nodes_outputs, bypassed_nodes, inputs), nodes_outputs

    executor._traverse_nodes_async = types.MethodType(traverse_nodes_async, executor)
    return True


def pool_size(executor: Any, concurrent_lines: int) -> int:
    """Enough threads for every line in flight to run all the sync nodes it may run at once (with the fallback,
    the executor's lines bring their own pools)."""
    lines = max(1, concurrent_lines)
    if _usable(executor) is None:
        return lines
    nodes = [n for n in executor._flow.nodes if not n.aggregation]
    return lines * max(1, min(len(nodes), int(executor._node_concurrency)))
