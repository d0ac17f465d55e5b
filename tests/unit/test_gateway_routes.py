from __future__ import annotations

import pytest

from llmops.llm.gateway.call_errors import GatewayCallError
from llmops.llm.gateway.routes import Endpoint, IncomingCall, Shape, parse_call_path

PATHS = [
    ("/v1/chat/completions", IncomingCall(None, Shape.OPENAI, Endpoint.CHAT, None)),
    ("/x/ab12/v1/completions", IncomingCall("ab12", Shape.OPENAI, Endpoint.COMPLETIONS, None)),
    ("/x/ab12/v1/embeddings", IncomingCall("ab12", Shape.OPENAI, Endpoint.EMBEDDINGS, None)),
    (
        "/openai/deployments/gpt-35-turbo/chat/completions?api-version=2024-02-01",
        IncomingCall(None, Shape.AZURE, Endpoint.CHAT, "gpt-35-turbo"),
    ),
    (
        "/x/f00d/openai/deployments/my%20dep/completions?api-version=2024-02-01",
        IncomingCall("f00d", Shape.AZURE, Endpoint.COMPLETIONS, "my dep"),
    ),
    (
        "/x/f00d/openai/deployments/ada/embeddings",
        IncomingCall("f00d", Shape.AZURE, Endpoint.EMBEDDINGS, "ada"),
    ),
]


@pytest.mark.parametrize(("path", "expected"), PATHS)
def test_both_shapes_parse(path: str, expected: IncomingCall) -> None:
    assert parse_call_path(path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/chat/completions",
        "/x//v1/chat/completions",
        "/v1/images/generations",
        "/openai/deployments/x/y/chat/completions",
        "/x/a/b/v1/chat/completions",
    ],
)
def test_other_paths_are_refused_with_the_valid_ones(path: str) -> None:
    with pytest.raises(GatewayCallError) as raised:
        parse_call_path(path)
    assert raised.value.status == 404
    assert raised.value.message == (
        f"unknown gateway path '{path}'; valid: /v1/chat/completions, /v1/completions, /v1/embeddings, "
        "/openai/deployments/{deployment}/chat/completions, /openai/deployments/{deployment}/completions, "
        "/openai/deployments/{deployment}/embeddings, each optionally after /x/<tag>"
    )
