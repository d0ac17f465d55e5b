"""The LLM gateway: one loopback HTTP server for every LLM call of a run.

Flows keep plain prompt flow connections whose base URL points at `Gateway.route(...)`; the gateway adds
a response cache, record/replay cassettes, retries, a concurrency limit, accounting and fault injection,
and holds the real upstream keys.
"""

from llmops.llm.gateway.accounting import CallRecord
from llmops.llm.gateway.cassettes import Mode
from llmops.llm.gateway.faults import FaultPlan
from llmops.llm.gateway.gateway import Gateway
from llmops.llm.gateway.prices import ModelPrice, PriceTable, default_prices_path
from llmops.llm.gateway.retry import RetryPolicy
from llmops.llm.gateway.routes import Endpoint, Shape
from llmops.llm.gateway.tags import Tag
from llmops.llm.gateway.totals import CallTotals, call_totals, run_totals
from llmops.llm.gateway.upstream import Upstream, UpstreamKind

__all__ = [
    "CallRecord",
    "CallTotals",
    "Endpoint",
    "FaultPlan",
    "Gateway",
    "Mode",
    "ModelPrice",
    "PriceTable",
    "RetryPolicy",
    "Shape",
    "Tag",
    "Upstream",
    "UpstreamKind",
    "call_totals",
    "default_prices_path",
    "run_totals",
]
