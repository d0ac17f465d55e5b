"""Helpers for the gateway over real loopback HTTP: a real client, the real gateway and a real upstream server.

The `upstream` fixture is in gateway_fixtures.py.
"""

from __future__ import annotations

import functools
import http.client
import json
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from llmops.llm.gateway import Gateway, RetryPolicy, Upstream
from tests.support.loopback_upstream import LoopbackUpstream

QUESTION: Any = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "What is a URL?"},
]
AZURE_CHAT_PATH = "/openai/deployments/gpt-35-turbo/chat/completions?api-version=2024-02-01"
TOKEN = "test-session-token"  # what the flows of a session get; see test_gateway_auth.py
keyed_gateway = functools.partial(Gateway, token=TOKEN)
FAST_RETRY = RetryPolicy(max_attempts=4, max_total_seconds=5, base_delay_seconds=0.01, max_delay_seconds=0.05)


def azure_upstream(server: LoopbackUpstream, **overrides: Any) -> Upstream:
    return Upstream(
        **{"name": "stub-azure", "kind": "azure", "base_url": server.url, "api_key": "stub-key", **overrides}
    )


def post(base_url: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        headers = {"Content-Type": "application/json", "api-key": TOKEN}
        connection.request("POST", parts.path + path, body=json.dumps(body), headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def chat(
    base_url: str, temperature: float = 0.0, messages: list[dict[str, str]] = QUESTION, **extra: Any
) -> tuple[int, dict[str, Any]]:
    body = {"model": "gpt-35-turbo", "messages": messages, "temperature": temperature, **extra}
    status, _, raw = post(base_url, AZURE_CHAT_PATH, body)
    return status, json.loads(raw)


def rows(db: Path, columns: str) -> list[tuple]:
    """The accounting's llm_calls rows, in call order."""
    with sqlite3.connect(db) as connection:
        return connection.execute(f"SELECT {columns} FROM llm_calls ORDER BY id").fetchall()
