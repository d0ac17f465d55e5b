"""The gateway serves only callers holding its per-session token: any other local process gets 401 and
reaches no upstream, in both request shapes."""

from __future__ import annotations

import http.client
import json
import sqlite3
from pathlib import Path

import pytest

from llmops.llm.gateway import Gateway, Tag, Upstream
from tests.support.gateway_http import AZURE_CHAT_PATH
from tests.support.loopback_upstream import LoopbackUpstream

pytest_plugins = ["tests.support.gateway_fixtures"]  # the upstream fixture

OPENAI_PATH = "/v1/chat/completions"
BODY = json.dumps({"model": "gpt-35-turbo", "messages": [{"role": "user", "content": "Hi?"}], "temperature": 0})
REFUSED = (
    "missing or wrong gateway key: this LLM gateway serves only the flows of the llmops session that started "
    "it, which get its key as their connection's api_key"
)


def gateway_for(upstream: LoopbackUpstream, **options: object) -> Gateway:
    real = Upstream("stub-azure", "azure", upstream.url, api_key="real-upstream-key")
    return Gateway({"aoai": real}, **options)  # type: ignore[arg-type]


def post(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, body=BODY, headers={"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


REFUSED_REQUESTS = [
    # path, headers sent ("TOKEN" stands for the gateway's token)
    (AZURE_CHAT_PATH, {}),
    (OPENAI_PATH, {}),
    (AZURE_CHAT_PATH, {"api-key": "llmops-gateway"}),  # the fixed placeholder flows used to get
    (OPENAI_PATH, {"Authorization": "Bearer gateway"}),
    (OPENAI_PATH, {"Authorization": "TOKEN"}),  # the token without the Bearer scheme
    (OPENAI_PATH, {"Authorization": "Bearer TOKENx"}),
    (AZURE_CHAT_PATH, {"api-key": "TOKEN"[:3]}),
    ("/v2/unknown", {}),  # no token: not even told whether the path exists
]


@pytest.mark.parametrize(("path", "headers"), REFUSED_REQUESTS)
def test_request_without_the_token_gets_401_and_reaches_no_upstream(
    upstream: LoopbackUpstream, path: str, headers: dict[str, str]
) -> None:
    with gateway_for(upstream) as gateway:
        sent = {name: value.replace("TOKEN", gateway.token) for name, value in headers.items()}
        status, answer = post(gateway.port, path, sent)
    assert (status, answer) == (401, {"error": {"message": REFUSED, "type": "invalid_request_error", "code": "401"}})
    assert upstream.requests == []


@pytest.mark.parametrize(("path", "header"), [(AZURE_CHAT_PATH, "api-key"), (OPENAI_PATH, "authorization")])
def test_request_with_the_token_is_served_and_the_token_goes_no_further(
    upstream: LoopbackUpstream, path: str, header: str
) -> None:
    with gateway_for(upstream) as gateway:
        value = gateway.token if header == "api-key" else f"Bearer {gateway.token}"
        status, answer = post(gateway.port, path, {header: value})
        token = gateway.token
    assert (status, answer["object"]) == (200, "chat.completion")
    assert [r.headers["api-key"] for r in upstream.requests] == ["real-upstream-key"]
    assert token not in json.dumps([r.headers for r in upstream.requests])


def test_each_gateway_has_its_own_token_and_the_cache_ignores_it(upstream: LoopbackUpstream, tmp_path: Path) -> None:
    cache, accounting = tmp_path / "cache.sqlite", tmp_path / "calls.sqlite"
    tokens = []
    for _ in range(2):
        with gateway_for(upstream, cache_path=cache, accounting_path=accounting) as gateway:
            tokens.append(gateway.token)
            connection = gateway.promptflow_connection("aoai", "azure", Tag(run="r"))
            assert connection["value"]["api_key"] == gateway.token
            status, _ = post(gateway.port, AZURE_CHAT_PATH, {"api-key": gateway.token})
            assert status == 200
    with sqlite3.connect(accounting) as db:
        outcomes = [cache for (cache,) in db.execute("SELECT cache FROM llm_calls ORDER BY id")]
    assert tokens[0] != tokens[1] and len(tokens[0]) >= 32
    assert outcomes == ["miss", "hit"]  # a new session's token does not make the same request new
    assert len(upstream.requests) == 1
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert not any(token.encode() in stored for token in tokens)
