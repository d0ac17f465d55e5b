"""Step: the connections `.env` (and the environment) define, keys masked, the provider each resolves to, and
which flow nodes use them; published to prompt flow's local connection store unless told not to."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llmops.backends import default_backend
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionRow:
    name: str
    type: str  # its api_type, "-" when only a flow names it
    target: str
    key: str  # masked
    provider: str  # the profile it resolves to, "-" when no flow uses it
    used_by: list[str] = field(default_factory=list)  # flow.node

    def describe(self) -> str:
        used = f" used by {', '.join(self.used_by)}" if self.used_by else ""
        return (f"{self.name}: type {self.type}, target {self.target}, key {self.key}, provider "
                f"{self.provider}{used}")


@dataclass(frozen=True)
class ConnectionsResult:
    env_file: Path
    rows: list[ConnectionRow]
    store: str | None  # where they were published (prompt flow's local connection store), if they were

    def to_dict(self) -> dict[str, Any]:
        return {"env_file": str(self.env_file), "store": self.store,
                "connections": [asdict(row) for row in self.rows]}


def list_connections(workspace: Workspace, environ: Mapping[str, str], use_case: UseCase | None = None,
                     env: str | None = None, env_file: Path | None = None, provider: str = "auto",
                     publish: bool = True) -> ConnectionsResult:
    """`use_case` (with `env`, default its first) adds the connections its flows name and who uses them."""
    from llmops.llm.connections import read_connections
    from llmops.llm.providers import Use, choose

    env_file = env_file or workspace.root / ".env"
    connections = read_connections(env_file, environ)
    uses: list[Use] = []
    if use_case is not None:
        env = env or use_case.llmops.env_names[0]
        flows = [use_case.standard_flow(env), *use_case.evaluation_flows(env)]
        uses = [Use(f.name, node, conn) for f in flows for node, conn in f.connections()]
    choices = choose(uses, connections, provider)
    store = None
    if connections and publish:
        store = default_backend(workspace).executor.publish_connections(connections)
        logger.info("connections written to %s", store)
    rows = []
    for name in sorted(set(connections) | set(choices)):
        conn, choice = connections.get(name), choices.get(name)
        rows.append(ConnectionRow(
            name=name, type=conn.api_type if conn else "-", target=conn.target if conn else "-",
            key=conn.masked_key if conn else "-", provider=choice.profile if choice else "-",
            used_by=sorted({f"{u.flow}.{u.node}" for u in uses if u.connection == name}),
        ))
    return ConnectionsResult(env_file, rows, store)
