"""An LLM session: the embedded model (when a connection needs it) and the gateway, for one step or pipeline.

Steps get prompt flow connections from the session: each points at a gateway route tagged with the
run, variant, flow and node, and carries the gateway's per-session token as its key; the gateway
holds the real keys.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops.llm.connections import Connection
from llmops.llm.providers import Choice, Use, choose

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LlmSettings:
    state_dir: Path
    cassette_dir: Path
    provider: str = "auto"  # auto | azure_openai | openai | openai_compatible | embedded | replay
    connections: dict[str, Connection] = field(default_factory=dict)
    record: bool = False  # write cassettes of what the upstream answered (only the requests they lack)
    refresh: bool = False  # with record: ask the upstream again for every request, replacing recorded answers
    embedded_model: str = "qwen-1.5b"
    record_hint: str = "llmops record --use-case <name> --env <env>"
    cache: bool = True
    simulated_latency_s: float = 0.1  # used only by the `simulated` test upstream
    max_concurrency: int = 16  # LLM calls in flight per upstream (CONCURRENCY in llmops_config.json)
    # The embedded model starts on the first call by default (a fully reused run needs none); a server
    # that exists to answer starts it at once, so its first request does not wait for the model.
    start_model_now: bool = False


class LlmSession:
    def __init__(self, settings: LlmSettings, uses: list[Use]) -> None:
        self.settings = settings
        self.uses = uses
        self.choices: dict[str, Choice] = choose(uses, settings.connections, settings.provider)
        self.notes: list[str] = []
        self._stack = ExitStack()
        self.gateway: Any = None
        self.remote_outcomes: Counter[str] = Counter()

    def count_remote_calls(self, outcomes: Mapping[str, int]) -> None:
        """Calls that lines of this session made through gateways of their own elsewhere (an Azure ML job's nodes)."""
        self.remote_outcomes.update(outcomes)

    def call_outcomes(self) -> dict[str, int]:
        """Every call this session's lines made, by outcome (the gateway's, see Gateway.call_outcomes), here or
        remotely."""
        return dict(Counter(self.gateway.call_outcomes() if self.gateway is not None else {}) + self.remote_outcomes)

    def __enter__(self) -> LlmSession:
        from llmops.llm.gateway import Gateway, Mode

        try:
            upstreams = {name: self._upstream(choice) for name, choice in self.choices.items()}
            mode = Mode.REPLAY if self.settings.provider == "replay" else (
                (Mode.REFRESH if self.settings.refresh else Mode.RECORD) if self.settings.record else Mode.LIVE)
            self.gateway = self._stack.enter_context(Gateway(
                upstreams=upstreams, mode=mode, cassette_dir=self.settings.cassette_dir,
                cache_path=(self.settings.state_dir / "llm_cache.sqlite") if self.settings.cache else None,
                accounting_path=self.settings.state_dir / "llm_calls.sqlite",
                replay_hint=self.settings.record_hint,
            ))
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def use_from_forked_process(self) -> None:
        """Call in a process forked from the one that entered this session (an endpoint server's worker): the
        gateway and the embedded model stay the parent's, shared by every worker; routes made here are
        registered with the parent's gateway, and leaving the session here stops nothing of the parent's."""
        self.gateway.use_from_forked_process()
        self._stack = ExitStack()

    def _upstream(self, choice: Choice) -> Any:
        from llmops.llm.gateway import Upstream

        profile = choice.profile
        conn = self.settings.connections.get(choice.connection)
        slots = self.settings.max_concurrency
        if profile == "replay":
            return Upstream(name="replay", kind="simulated", max_concurrency=slots)
        if profile == "simulated":  # stands in for a real service in tests and benchmarks, limit included
            return Upstream(name="simulated", kind="simulated", simulated_latency_s=self.settings.simulated_latency_s,
                            max_concurrency=slots, trial_seed=0)
        if profile == "embedded":
            from llmops.llm.embedded import check_startable, embedded_server
            from llmops.llm.embedded.child import DEFAULT_SEED

            check_startable(self.settings.embedded_model)  # a missing model is said now, before any run starts
            server = embedded_server(self.settings.embedded_model, self.settings.state_dir)  # stops with the session
            where: dict[str, Any] = (
                {"base_url": self._stack.enter_context(server)} if self.settings.start_model_now
                # else started by the first call that needs an answer (see lazy_transport.py)
                else {"start": functools.partial(self._stack.enter_context, server)})
            note = f"{choice.reason}: using the embedded model {self.settings.embedded_model} (no network, no key)"
            if note not in self.notes:
                self.notes.append(note)
                logger.info(note)
            return Upstream(name=f"embedded-{self.settings.embedded_model}", kind="openai", max_concurrency=1,
                            trial_seed=DEFAULT_SEED, **where)
        assert conn is not None
        if profile == "azure_openai":
            return Upstream(name=f"azure-{conn.api_base}", kind="azure", base_url=conn.api_base,
                            api_key=conn.api_key, api_version=conn.api_version, model=conn.model or None,
                            max_concurrency=slots, defined_in=conn.source)
        base = conn.base_url or "https://api.openai.com/v1"
        return Upstream(name=f"openai-{base}", kind="openai", base_url=base, api_key=conn.api_key,
                        model=conn.model or None, max_concurrency=slots, defined_in=conn.source)

    def identity(self) -> dict[str, str]:
        """What the LLM answers depend on, per connection: part of every run's content key."""
        ident = {}
        for name, choice in self.choices.items():
            if choice.profile == "embedded":
                ident[name] = f"embedded-{self.settings.embedded_model}"
            elif choice.profile in ("replay", "simulated"):
                ident[name] = choice.profile
            else:
                conn = self.settings.connections[name]
                ident[name] = f"{choice.profile}-{conn.target}-{conn.model}"
        if self.settings.record:
            # A recording session must really run its lines (cache hits still reach the cassette),
            # so it never reuses the runs of a plain session.
            ident = {name: f"{value}+record" for name, value in ident.items()}
        return ident

    def pf_connections(self, flow: str, run: str, variant: str, node_connections: list[Any],
                       trial: int = 0) -> dict[str, Any]:
        """Prompt flow connection dicts for a prepared flow's connection aliases (DAG, prompty or flex); `trial`
        is the run's repeated trial (TRIALS), part of its calls' cache keys."""
        from llmops.llm.gateway import Tag

        return {nc.alias: self.gateway.promptflow_connection(
                    nc.connection, nc.kind, Tag(run=run, variant=variant, flow=flow, node=nc.node, trial=trial))
                for nc in node_connections}
