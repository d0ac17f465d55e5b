"""Run a flow's sync nodes on one long-lived thread pool instead of a new pool per line.

Prompt flow's async line API (`exec_line_async`) creates a ThreadPoolExecutor for every line and
starts fresh threads for its sync nodes (an LLM tool, a python node). Starting a thread waits for
the new thread to take the GIL, which under load costs milliseconds and blocks the event loop that
drives every other line; over an experiment that is most of the engine's overhead. Sharing one pool
across the lines of a run removes it. The override is per executor instance (never global) and
relies on `AsyncNodesScheduler` internals of the pinned promptflow version; the engine tests run
flows through it, so a promptflow upgrade that changes them fails there.
"""

from __future__ import annotations

import asyncio
import contextvars
import types
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from promptflow.executor._async_nodes_scheduler import (
    PF_ASYNC_NODE_SCHEDULER_EXECUTE_TASK_NAME,
    AsyncNodesScheduler,
)


class _PooledNodesScheduler(AsyncNodesScheduler):
    def __init__(self, tools_manager: Any, node_concurrency: int, pool: ThreadPoolExecutor) -> None:
        super().__init__(tools_manager, node_concurrency)
        self._pool = pool

    async def execute(self, nodes: Any, inputs: Any, context: Any, timeout_seconds: int | None = None) -> Any:
        self._semaphore = asyncio.Semaphore(self._node_concurrency)  # bound to the running loop
        task = asyncio.current_task()
        if task is not None:
            task.set_name(PF_ASYNC_NODE_SCHEDULER_EXECUTE_TASK_NAME)
        return await self._execute_with_thread_pool(self._pool, nodes, inputs, context, timeout_seconds)

    @staticmethod
    async def _sync_function_to_async_task(executor: Any, context: Any, node: Any, f: Any, kwargs: Any) -> Any:
        # The per-line pool copied the line's context variables into its threads; a shared pool gets
        # them per call instead (a fresh copy each, since one Context cannot be entered twice at once).
        line_context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(
            executor, line_context.run, context.invoke_tool, node, f, kwargs)


def share_node_pool(executor: Any, pool: ThreadPoolExecutor) -> None:
    """Make `executor` (a FlowExecutor) run the sync nodes of its async lines on `pool` (again: no-op)."""
    if getattr(executor, "_llmops_node_pool", None) is pool:
        return
    executor._llmops_node_pool = pool

    async def traverse_nodes_async(self: Any, inputs: Any, context: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        batch_nodes = [node for node in self._flow.nodes if not node.aggregation]
        scheduler = _PooledNodesScheduler(self._tools_manager, self._node_concurrency, pool)
        nodes_outputs, bypassed_nodes = await scheduler.execute(batch_nodes, inputs, context, self._line_timeout_sec)
        return self._extract_outputs(nodes_outputs, bypassed_nodes, inputs), nodes_outputs

    executor._traverse_nodes_async = types.MethodType(traverse_nodes_async, executor)


def pool_size(executor: Any, concurrent_lines: int) -> int:
    """Enough threads for every line in flight to run all the sync nodes it may run at once."""
    nodes = [n for n in executor._flow.nodes if not n.aggregation]
    return max(1, concurrent_lines) * max(1, min(len(nodes), int(executor._node_concurrency)))
