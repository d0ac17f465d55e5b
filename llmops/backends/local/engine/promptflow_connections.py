"""Write the .env connections into prompt flow's local connection store under the state directory,
so `pf flow test` and the VS Code extension find them too (the store encrypts the keys)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from llmops.backends.local.engine.promptflow_env import configure_promptflow
from llmops.llm.connections import Connection


def sync_connections(connections: Mapping[str, Connection], state_dir: Path) -> Path:
    home = configure_promptflow(state_dir)
    if not connections:
        return home
    from promptflow.client import PFClient
    from promptflow.entities import AzureOpenAIConnection, OpenAIConnection

    client = PFClient()
    for conn in connections.values():
        if conn.api_type == "azure":
            entity = AzureOpenAIConnection(name=conn.name, api_key=conn.api_key, api_base=conn.api_base,
                                           api_type="azure", api_version=conn.api_version)
        else:
            entity = OpenAIConnection(name=conn.name, api_key=conn.api_key, base_url=conn.base_url or None)
        client.connections.create_or_update(entity)
    return home
