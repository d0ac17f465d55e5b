"""The gateway over real loopback HTTP, as its clients call it: both request shapes to either upstream kind,
a fixed upstream model, streaming, routing errors and the health check."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import openai
import pytest

from llmops.llm.gateway import Tag, Upstream
from tests.support.gateway_http import QUESTION, TOKEN, azure_upstream, chat, keyed_gateway, post
from tests.support.loopback_upstream import LoopbackUpstream

pytest_plugins = ["tests.support.gateway_fixtures"]  # the upstream fixture

SHAPES = [
    # client shape, upstream kind, upstream path, auth header, auth value, model sent upstream
    (
        "azure",
        "azure",
        "/openai/deployments/gpt-35-turbo/chat/completions?api-version=2024-06-01",
        "api-key",
        "stub-key",
        "gpt-35-turbo",
    ),
    (
        "openai",
        "azure",
        "/openai/deployments/gpt-35-turbo/chat/completions?api-version=2024-06-01",
        "api-key",
        "stub-key",
        "gpt-35-turbo",
    ),
    ("azure", "openai", "/v1/chat/completions", "authorization", "Bearer stub-key", "gpt-35-turbo"),
    ("openai", "openai", "/v1/chat/completions", "authorization", "Bearer stub-key", "gpt-35-turbo"),
]


@pytest.mark.parametrize(
    ("client_shape", "upstream_kind", "upstream_path", "auth_header", "auth_value", "model"), SHAPES
)

def test_both_request_shapes_reach_either_upstream_kind(
    upstream: LoopbackUpstream,
    client_shape: str,
    upstream_kind: str,
    upstream_path: str,
    auth_header: str,
    auth_value: str,
    model: str,
) -> None:
    base = upstream.url if upstream_kind == "azure" else upstream.openai_base
    target = Upstream("stub", upstream_kind, base, api_key="stub-key", api_version="2024-06-01")
    with keyed_gateway({"aoai": target}) as gateway:
        url = gateway.route("aoai", client_shape, Tag(run="r"))
        client: openai.OpenAI
        if client_shape == "azure":
            client = openai.AzureOpenAI(api_key=TOKEN, azure_endpoint=url, api_version="2024-02-01", max_retries=0)
        else:
            client = openai.OpenAI(api_key=TOKEN, base_url=url, max_retries=0)
        answer = client.chat.completions.create(model="gpt-35-turbo", messages=QUESTION, temperature=0)
    received = upstream.requests[0]
    assert str(answer.choices[0].message.content).startswith("Simulated answer ")
    assert (received.path, received.headers[auth_header], received.body["model"]) == (
        upstream_path,
        auth_value,
        model,
    )
    assert "stream" not in received.body


def test_fixed_upstream_model_replaces_the_requested_one(upstream: LoopbackUpstream) -> None:
    target = Upstream("llama", "openai", upstream.openai_base, model="qwen2.5-coder-1.5b")
    with keyed_gateway({"aoai": target}) as gateway:
        status, _ = chat(gateway.route("aoai", "azure", Tag()))
    assert (status, upstream.requests[0].body["model"]) == (200, "qwen2.5-coder-1.5b")
    assert "authorization" not in upstream.requests[0].headers  # no key configured: none sent


def test_streaming_answer_carries_the_full_response(upstream: LoopbackUpstream) -> None:
    with keyed_gateway({"aoai": azure_upstream(upstream)}) as gateway:
        client = openai.AzureOpenAI(
            api_key=TOKEN,
            azure_endpoint=gateway.route("aoai", "azure", Tag()),
            api_version="2024-02-01",
            max_retries=0,
        )
        whole = client.chat.completions.create(model="gpt-35-turbo", messages=QUESTION, temperature=0)
        chunks = list(
            client.chat.completions.create(
                model="gpt-35-turbo",
                messages=QUESTION,
                temperature=0,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == whole.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices] == [None, "stop"]
    assert chunks[-1].usage == whole.usage
    assert ["stream" in r.body for r in upstream.requests] == [False, False]  # upstreams never stream


ROUTING_ERRORS = [
    (
        "/x/0000000000000000/v1/chat/completions",
        404,
        "unknown gateway route tag '0000000000000000'; routes are made by Gateway.route() and last as "
        "long as that gateway: give the flow a connection from the running gateway",
    ),
    (
        "/v2/chat/completions",
        404,
        "unknown gateway path '/v2/chat/completions'; valid: /v1/chat/completions, /v1/completions, "
        "/v1/embeddings, /openai/deployments/{deployment}/chat/completions, "
        "/openai/deployments/{deployment}/completions, /openai/deployments/{deployment}/embeddings, "
        "each optionally after /x/<tag>",
    ),
    (
        "/v1/chat/completions",
        400,
        "request body has no 'model'; OpenAI-shaped calls must name the model (prompt flow: set the LLM "
        "node's model input)",
    ),
]


@pytest.mark.parametrize(("path", "status", "message"), ROUTING_ERRORS)
def test_routing_errors_say_what_to_do(upstream: LoopbackUpstream, path: str, status: int, message: str) -> None:
    with keyed_gateway({"aoai": azure_upstream(upstream)}) as gateway:
        answer = post(gateway.url, path, {"messages": QUESTION})
    assert (answer[0], json.loads(answer[2])["error"]["message"]) == (status, message)


def test_health_and_untagged_calls(upstream: LoopbackUpstream) -> None:
    with keyed_gateway({"aoai": azure_upstream(upstream)}) as gateway:
        parts = urlsplit(gateway.url)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
        connection.request("GET", "/health")
        health = connection.getresponse()
        assert (health.status, json.loads(health.read())) == (200, {"status": "ok"})
        status, _, raw = post(gateway.url, "/v1/embeddings", {"model": "text-embedding-3-small", "input": ["a", "b"]})
    assert status == 200 and [len(d["embedding"]) for d in json.loads(raw)["data"]] == [1536, 1536]
    assert upstream.requests[0].path == "/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-02-01"
