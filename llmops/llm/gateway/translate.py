"""Builds the request sent upstream from what the flow asked, in the upstream's own shape."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from llmops.llm.gateway.routes import Endpoint
from llmops.llm.gateway.upstream import Upstream, UpstreamKind

# The gateway always asks upstreams for a complete answer and streams it to the client itself, so
# cache, cassettes and accounting see whole responses with usage counts.
_STREAMING_FIELDS = ("stream", "stream_options")


@dataclass(frozen=True)
class UpstreamRequest:
    endpoint: Endpoint
    model: str  # the model (OpenAI) or deployment (Azure) actually called
    path: str  # relative to the upstream's base URL, with query string
    headers: Mapping[str, str]
    body: Mapping[str, Any]
    payload: bytes


def build_upstream_request(
    upstream: Upstream, endpoint: Endpoint, requested_model: str, body: Mapping[str, Any]
) -> UpstreamRequest:
    model = upstream.deployment_for(requested_model)
    upstream_body = {k: v for k, v in body.items() if k not in _STREAMING_FIELDS}
    upstream_body["model"] = model
    headers = {"Content-Type": "application/json"}
    if upstream.kind == UpstreamKind.AZURE:
        query = urlencode({"api-version": upstream.api_version})
        path = f"/openai/deployments/{quote(model, safe='')}/{endpoint.path}?{query}"
        headers["api-key"] = upstream.api_key
    else:
        path = f"/{endpoint.path}"
        if upstream.api_key:
            headers["Authorization"] = f"Bearer {upstream.api_key}"
    payload = json.dumps(upstream_body, ensure_ascii=False).encode()
    return UpstreamRequest(endpoint, model, path, headers, upstream_body, payload)
