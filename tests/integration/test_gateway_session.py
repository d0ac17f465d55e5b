"""An LlmSession's gateway as its flows see it: connections from .env, the session token as their key."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from llmops.llm.connections import Connection
from llmops.llm.providers import Use
from llmops.llm.session import LlmSession, LlmSettings
from tests.support.gateway_http import QUESTION
from tests.support.loopback_upstream import LoopbackUpstream

pytest_plugins = ["tests.support.gateway_fixtures"]  # the upstream fixture


def session_for(tmp_path: Path, provider: str, *connections: Connection) -> LlmSession:
    settings = LlmSettings(state_dir=tmp_path / "state", cassette_dir=tmp_path / "cassettes", provider=provider,
                           connections={c.name: c for c in connections}, cache=False)
    return LlmSession(settings, [Use("flow", f"ask_{c.name}", c.name) for c in connections])


def ask(session: LlmSession, kind: str, model: str, name: str = "aoai") -> str:
    """What a prompt flow LLM node does with the connection the session gives it."""
    node = _NodeConnection(kind, name)
    connection = session.pf_connections("flow", "run-1", "defaults", [node])[node.alias]["value"]
    client: openai.OpenAI
    if kind == "azure":
        client = openai.AzureOpenAI(api_key=connection["api_key"], azure_endpoint=connection["api_base"],
                                    api_version=connection["api_version"], max_retries=0)
    else:
        client = openai.OpenAI(api_key=connection["api_key"], base_url=connection["base_url"], max_retries=0)
    answer = client.chat.completions.create(model=model, messages=QUESTION, temperature=0)
    return str(answer.choices[0].message.content)


class _NodeConnection:
    def __init__(self, kind: str, connection: str) -> None:
        self.node, self.connection, self.alias, self.kind = f"ask_{connection}", connection, f"{connection}__ask", kind


PINNED = [
    # provider, the connection, the upstream path the flow's call for another model must reach
    (
        "azure_openai",
        dict(api_type="azure", api_base="{url}", model="gpt-4o-mini"),
        "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-02-01",
    ),
    ("openai_compatible", dict(api_type="openai", base_url="{url}/v1", model="qwen2.5-1.5b"), "/v1/chat/completions"),
]


@pytest.mark.parametrize(("provider", "fields", "path"), PINNED)
def test_a_connection_with_a_model_calls_only_that_model(
    upstream: LoopbackUpstream, tmp_path: Path, provider: str, fields: dict[str, str], path: str
) -> None:
    values = {name: value.format(url=upstream.url) for name, value in fields.items()}
    connection = Connection(name="aoai", api_key="real-key-0123456789", api_version="2024-02-01", **values)
    with session_for(tmp_path, provider, connection) as session:
        ask(session, "azure", "gpt-4-32k")
    received = upstream.requests[0]
    assert (received.path, received.body["model"]) == (path, fields["model"])


def test_connections_to_one_resource_each_use_their_own_key(upstream: LoopbackUpstream, tmp_path: Path) -> None:
    both = [Connection(name=name, api_type="azure", api_key=f"key-of-{name}", api_base=upstream.url,
                       api_version="2024-02-01") for name in ("aoai", "aoai_eval")]
    with session_for(tmp_path, "azure_openai", *both) as session:
        ask(session, "azure", "gpt-35-turbo", "aoai")
        ask(session, "azure", "gpt-35-turbo", "aoai_eval")
    assert [r.headers["api-key"] for r in upstream.requests] == ["key-of-aoai", "key-of-aoai_eval"]
