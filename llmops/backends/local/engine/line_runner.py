"""What the line loops (flow_runner.run_batches, line_loop.LineLoop) need of a flow made runnable, whatever its
format: a DAG on prompt flow's executor (flow_runner.FlowRunner), or a Python callable, a prompty or a flex
flow's entry (callable_runner.CallableRunner)."""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any, Protocol

from llmops.backends.types import LineOutcome


class LineRunner(Protocol):
    def load(self) -> None:
        """Load the flow now (idempotent), so one that cannot load fails before any line runs."""
        ...

    def use_node_pool(self, pool: Executor) -> None:
        """Run the flow's synchronous work on `pool` (threads named for node output routing, see node_output)."""
        ...

    def threads_for(self, lines: int) -> int:
        """Threads of the node pool that `lines` lines in flight may need at once."""
        ...

    def run_line(self, index: int, inputs: dict[str, Any]) -> LineOutcome:
        ...

    async def run_line_async(self, index: int, inputs: dict[str, Any]) -> LineOutcome:
        """One line on the running event loop; never raises (a failed line is an outcome with an error)."""
        ...

    def aggregate(self, outcomes: list[LineOutcome]) -> dict[str, Any]:
        """The metrics the flow's aggregation computes over the succeeded lines ({} when it has none)."""
        ...
