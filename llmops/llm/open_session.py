"""The one way to open an LLM session for a use case's env: what the CLI, the endpoint server, the Azure ML
node, local_execution/ and the benchmarks call.

It reads the connections (`.env`, then the environment), picks the provider (the caller's, else the env's
PROVIDER), bounds the calls in flight by the env's CONCURRENCY, and names the command that records a missing
answer. A backend whose lines run elsewhere says which connections they use through `connections_for` (on
Azure ML, a key vault's).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from llmops.llm.embedded.catalog import DEFAULT_MODEL

if TYPE_CHECKING:
    from llmops.config.use_case import UseCase
    from llmops.config.workspace import Workspace
    from llmops.llm.connections import Connection
    from llmops.llm.session import LlmSession

# (connection names the flows use, provider, the connections read here) -> the connections the lines run with
ConnectionsFor = Callable[[list[str], str, "dict[str, Connection]"], "dict[str, Connection]"]


class UsesConnections(Protocol):
    """A flow, as far as a session cares: its name and the (node, connection) pairs of its LLM calls."""

    @property
    def name(self) -> str: ...

    def connections(self) -> Iterable[tuple[str, str]]: ...


def open_session(
    workspace: Workspace,
    use_case: UseCase,
    env: str,
    flows: Iterable[UsesConnections],
    *,
    provider: str | None = None,
    env_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    record: bool = False,
    refresh: bool = False,
    embedded_model: str = DEFAULT_MODEL,
    start_model_now: bool = False,
    cache: bool = True,
    simulated_latency_s: float = 0.1,
    state_dir: Path | None = None,
    connections_for: ConnectionsFor | None = None,
) -> LlmSession:
    """An LLM session (enter it with `with`) for the LLM calls of `flows` in `env`.

    `provider` None takes the env's PROVIDER; `env_file` None reads `.env` at the repository root;
    `environ` None reads this process's environment; `start_model_now` starts the embedded model at once
    (a server, whose first request must not wait for it) instead of on the first call.
    """
    from llmops.llm.connections import read_connections
    from llmops.llm.providers import Use
    from llmops.llm.session import LlmSession, LlmSettings

    configured = use_case.env(env)
    chosen = provider or configured.PROVIDER
    uses = [Use(flow.name, node, connection) for flow in flows for node, connection in flow.connections()]
    connections = read_connections(env_file or workspace.root / ".env", os.environ if environ is None else environ)
    if connections_for is not None:
        connections = connections_for(sorted({use.connection for use in uses}), chosen, connections)
    settings = LlmSettings(
        state_dir=state_dir or workspace.state_dir, cassette_dir=use_case.folder / "cassettes", provider=chosen,
        connections=connections, record=record, refresh=refresh, embedded_model=embedded_model,
        record_hint=f"llmops record --use-case {use_case.name} --env {env}", cache=cache,
        simulated_latency_s=simulated_latency_s, max_concurrency=configured.CONCURRENCY,
        start_model_now=start_model_now,
    )
    return LlmSession(settings, uses)
