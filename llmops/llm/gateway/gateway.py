"""The Gateway object: one loopback HTTP server through which every LLM call of a run goes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from llmops.errors import UsageError
from llmops.llm.gateway.accounting import AccountingWriter
from llmops.llm.gateway.cache import ResponseCache
from llmops.llm.gateway.cassettes import CassetteStore, Mode
from llmops.llm.gateway.client_auth import new_token
from llmops.llm.gateway.faults import FaultPlan, FaultyTransport
from llmops.llm.gateway.http_server import GatewayHTTPServer
from llmops.llm.gateway.http_transport import open_transport
from llmops.llm.gateway.lazy_transport import LazyTransport
from llmops.llm.gateway.pipeline import CallPipeline, UpstreamBinding
from llmops.llm.gateway.prices import PriceTable, default_prices_path
from llmops.llm.gateway.retry import RetryPolicy
from llmops.llm.gateway.routes import Shape
from llmops.llm.gateway.shared_routes import RemoteRoutes
from llmops.llm.gateway.simulated import SimulatedTransport
from llmops.llm.gateway.tags import RouteTable, Tag, check_connection
from llmops.llm.gateway.totals import CallTotals, run_totals
from llmops.llm.gateway.transport import Transport
from llmops.llm.gateway.upstream import Upstream, UpstreamKind

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
_SHUTDOWN_POLL_SECONDS = 0.05


class Gateway:
    """Start with `with Gateway(...) as gateway:` (or start()/stop()); give flows `gateway.route(...)` URLs.

    upstreams: connection name (as flows name it, e.g. "aoai") -> where its calls go.
    mode: live, record (needs cassette_dir) or replay (needs cassette_dir; never calls an upstream, and
        accepts connections that have no upstream).
    cache_path: SQLite response cache; None disables caching.
    accounting_path: SQLite file for the llm_calls table; None disables accounting.
    replay_hint: the command that records missing cassette entries, quoted in replay-miss errors.
    prices: token prices for the cost column; None loads configs/prices.json of this repository.
    token: the key callers must present (flows get it as their connection's api_key); None makes a random
        one. The real upstream keys stay in the gateway, out of prompt flow's run records.
    """

    def __init__(
        self,
        upstreams: Mapping[str, Upstream],
        *,
        mode: Mode | str = Mode.LIVE,
        cache_path: Path | None = None,
        cassette_dir: Path | None = None,
        replay_hint: str = "",
        accounting_path: Path | None = None,
        retry: RetryPolicy | None = None,
        faults: FaultPlan | None = None,
        prices: PriceTable | None = None,
        port: int = 0,
        token: str | None = None,
    ) -> None:
        valid_modes = [m.value for m in Mode]
        if mode not in valid_modes:
            raise UsageError(f"unknown gateway mode '{mode}'; valid: {', '.join(valid_modes)}")
        self.mode = Mode(mode)
        if self.mode != Mode.LIVE and cassette_dir is None:
            raise UsageError(
                f"gateway mode '{self.mode}' needs a cassette directory; "
                "pass cassette_dir (use_cases/<name>/cassettes/)"
            )
        self.upstreams = dict(upstreams)
        self.cache_path = cache_path
        self.cassette_dir = cassette_dir
        self.replay_hint = replay_hint
        self.accounting_path = accounting_path
        self.retry = retry or RetryPolicy()
        self.faults = faults
        self.prices = prices or _default_prices()
        self._requested_port = port
        self.token = token or new_token()
        self._routes = RouteTable()
        self._server: GatewayHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._cache: ResponseCache | None = None
        self._cassettes: CassetteStore | None = None
        self._accounting: AccountingWriter | None = None
        self._transports: list[Transport] = []
        self._pipeline: CallPipeline | None = None
        self._parent_port: int | None = None  # set in a forked process: the gateway serves from its parent

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> Gateway:
        if self._server is not None:
            return self
        # Connections that share an upstream share its concurrency slots and its idle connections; each
        # keeps its own Upstream: its key, its model and where it is defined.
        by_upstream: dict[str, UpstreamBinding] = {}
        bindings: dict[str, UpstreamBinding] = {}
        for connection, upstream in self.upstreams.items():
            if upstream.name not in by_upstream:
                by_upstream[upstream.name] = self._bind(upstream)
            bindings[connection] = replace(by_upstream[upstream.name], upstream=upstream)
        self._cache = ResponseCache(self.cache_path) if self.cache_path is not None else None
        self._cassettes = CassetteStore(self.cassette_dir) if self.cassette_dir is not None else None
        self._accounting = AccountingWriter(self.accounting_path) if self.accounting_path is not None else None
        pipeline = CallPipeline(
            bindings=bindings,
            routes=self._routes,
            mode=self.mode,
            cache=self._cache,
            cassettes=self._cassettes,
            accounting=self._accounting,
            retry=self.retry,
            prices=self.prices,
            replay_hint=self.replay_hint,
            secrets=[*(upstream.api_key for upstream in self.upstreams.values()), self.token],
        )
        self._pipeline = pipeline
        self._server = GatewayHTTPServer((LOOPBACK, self._requested_port), pipeline, self.token, self._routes)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(_SHUTDOWN_POLL_SECONDS,),
            name="llmops-gateway",
            daemon=True,
        )
        self._thread.start()
        logger.info(
            "LLM gateway listening on %s (mode %s; connections: %s)",
            self.url,
            self.mode,
            ", ".join(f"{c} -> {u.name}" for c, u in sorted(self.upstreams.items())) or "none",
        )
        return self

    def stop(self) -> None:
        """Stop serving, write recorded cassettes, commit accounting, release connections. Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_open_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join()
        self.flush()
        if self._accounting is not None:
            self._accounting.close()
        if self._cache is not None:
            self._cache.close()
        for transport in self._transports:
            transport.close()
        self._transports.clear()
        logger.info("LLM gateway stopped")

    def use_from_forked_process(self) -> None:
        """Call in a process forked while this gateway ran: the gateway keeps serving from the parent (its thread
        did not survive the fork), so this copy only hands out routes, registered with the parent over HTTP, and
        its stop() and flush() leave the parent's server, cache, cassettes and accounting alone."""
        if self._server is None:
            raise UsageError("use_from_forked_process() needs a gateway that ran when the process forked")
        self._parent_port = self.port
        self._server = None
        self._thread = None
        self._cache = self._cassettes = self._accounting = None
        self._transports = []
        self._routes = RemoteRoutes(LOOPBACK, self._parent_port, self.token)

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._parent_port is not None:
            return self._parent_port
        if self._server is None:
            raise UsageError("the LLM gateway is not running; call start() or use it in a with block")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def route(self, connection_name: str, kind: Shape | str, tag: Tag) -> str:
        """The base URL for a flow connection: `api_base` for kind azure, `base_url` for kind openai."""
        shape = _shape(kind)
        if self.mode != Mode.REPLAY:
            check_connection(connection_name, sorted(self.upstreams))
        prefix = f"{self.url}/x/{self._routes.add(connection_name, tag)}"
        return prefix if shape == Shape.AZURE else f"{prefix}/v1"

    def promptflow_connection(
        self, connection_name: str, kind: Shape | str, tag: Tag, api_version: str = "2024-02-01"
    ) -> dict[str, Any]:
        """A prompt flow connection dict (for FlowExecutor connections=) that points at this gateway."""
        base = self.route(connection_name, kind, tag)
        if _shape(kind) == Shape.AZURE:
            value = {
                "api_key": self.token,
                "api_base": base,
                "api_type": "azure",
                "api_version": api_version,
            }
            return {"type": "AzureOpenAIConnection", "value": value}
        return {"type": "OpenAIConnection", "value": {"api_key": self.token, "base_url": base}}

    # -- results -----------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write recorded cassettes and commit queued accounting rows."""
        if self._cassettes is not None:
            self._cassettes.flush()
        if self._accounting is not None:
            self._accounting.flush()

    def call_outcomes(self) -> dict[str, int]:
        """Calls answered since start(), by outcome: "miss" and "record" reached the upstream; "hit" came from the
        cache; "replay" from a cassette. Empty before start()."""
        return self._pipeline.outcomes() if self._pipeline is not None else {}

    def run_totals(self, run: str) -> CallTotals:
        """Totals of one run from this gateway's accounting (flushes first)."""
        if self.accounting_path is None:
            raise UsageError("this gateway keeps no accounting; pass accounting_path to Gateway(...)")
        if self._accounting is not None:
            self._accounting.flush()
        return run_totals(self.accounting_path, run)

    def _bind(self, upstream: Upstream) -> UpstreamBinding:
        transport: Transport
        if upstream.kind == UpstreamKind.SIMULATED:
            transport = SimulatedTransport(upstream.simulated_latency_s)
        elif upstream.start is not None:
            transport = LazyTransport(upstream.start, upstream.max_concurrency)
        else:
            transport = open_transport(upstream.base_url, upstream.max_concurrency)
        if self.faults is not None:
            transport = FaultyTransport(transport, self.faults)
        self._transports.append(transport)
        return UpstreamBinding(upstream, transport, threading.BoundedSemaphore(upstream.max_concurrency))


def _default_prices() -> PriceTable:
    path = default_prices_path()
    return PriceTable.load(path) if path.is_file() else PriceTable({})


def _shape(kind: Shape | str) -> Shape:
    valid = [s.value for s in Shape]
    if kind not in valid:
        raise UsageError(f"unknown connection kind '{kind}'; valid: {', '.join(valid)}")
    return Shape(kind)
