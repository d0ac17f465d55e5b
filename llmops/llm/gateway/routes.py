"""Parsing of the request paths the gateway accepts (OpenAI and Azure OpenAI shapes, optional tag)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote, urlsplit

from llmops.llm.gateway.call_errors import UNKNOWN_ROUTE_STATUS, GatewayCallError


class Endpoint(StrEnum):
    CHAT = "chat"
    COMPLETIONS = "completions"
    EMBEDDINGS = "embeddings"

    @property
    def path(self) -> str:
        return _ENDPOINT_PATHS[self]


_ENDPOINT_PATHS = {
    Endpoint.CHAT: "chat/completions",
    Endpoint.COMPLETIONS: "completions",
    Endpoint.EMBEDDINGS: "embeddings",
}
_ENDPOINT_BY_PATH = {path: endpoint for endpoint, path in _ENDPOINT_PATHS.items()}


class Shape(StrEnum):
    """How the client addressed the gateway (its connection type in prompt flow)."""

    AZURE = "azure"
    OPENAI = "openai"


_PATH = re.compile(
    r"^(?:/x/(?P<tag>[A-Za-z0-9_-]+))?"
    r"(?:/v1/(?P<openai_endpoint>chat/completions|completions|embeddings)"
    r"|/openai/deployments/(?P<deployment>[^/]+)/(?P<azure_endpoint>chat/completions|completions|embeddings))"
    r"/?$"
)
VALID_PATHS = (
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/embeddings",
    "/openai/deployments/{deployment}/chat/completions",
    "/openai/deployments/{deployment}/completions",
    "/openai/deployments/{deployment}/embeddings",
)


@dataclass(frozen=True)
class IncomingCall:
    tag_id: str | None
    shape: Shape
    endpoint: Endpoint
    deployment: str | None  # only for the Azure shape, where the model is in the path


def parse_call_path(raw_path: str) -> IncomingCall:
    """Split a path such as /x/ab12/openai/deployments/gpt-35-turbo/chat/completions?api-version=..."""
    path = urlsplit(raw_path).path
    match = _PATH.match(path)
    if match is None:
        raise GatewayCallError(
            UNKNOWN_ROUTE_STATUS,
            f"unknown gateway path '{path}'; valid: {', '.join(VALID_PATHS)}, each optionally after /x/<tag>",
            "invalid_request_error",
        )
    if match["deployment"] is not None:
        return IncomingCall(
            match["tag"],
            Shape.AZURE,
            _ENDPOINT_BY_PATH[match["azure_endpoint"]],
            unquote(match["deployment"]),
        )
    return IncomingCall(match["tag"], Shape.OPENAI, _ENDPOINT_BY_PATH[match["openai_endpoint"]], None)
