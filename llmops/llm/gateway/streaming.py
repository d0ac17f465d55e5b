"""Server-sent events built from a complete response, for clients that asked `stream: true`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from llmops.llm.gateway.routes import Endpoint


def _event(payload: Mapping[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"


def _chat_delta(message: Mapping[str, Any]) -> dict[str, Any]:
    delta: dict[str, Any] = {"role": message.get("role", "assistant"), "content": message.get("content")}
    tool_calls = message.get("tool_calls")
    if tool_calls:
        # Streamed tool calls carry their position, which full responses leave implicit.
        delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(tool_calls)]
    if message.get("function_call"):
        delta["function_call"] = message["function_call"]
    return delta


def sse_from_response(endpoint: Endpoint, response: Mapping[str, Any], include_usage: bool) -> bytes:
    """The stream a streaming upstream would have sent: one content chunk per choice, a finish chunk,
    an optional usage chunk, then [DONE]."""
    if endpoint == Endpoint.CHAT:
        chunk_object = "chat.completion.chunk"
    else:
        chunk_object = "text_completion"
    header = {
        "id": response.get("id", ""),
        "object": chunk_object,
        "created": response.get("created", 0),
        "model": response.get("model", ""),
    }
    if response.get("system_fingerprint") is not None:
        header["system_fingerprint"] = response["system_fingerprint"]
    events: list[bytes] = []
    choices = response.get("choices") or []
    for choice in choices:
        index = choice.get("index", 0)
        if endpoint == Endpoint.CHAT:
            content = {
                "index": index,
                "delta": _chat_delta(choice.get("message") or {}),
                "finish_reason": None,
                "logprobs": None,
            }
            finish = {
                "index": index,
                "delta": {},
                "finish_reason": choice.get("finish_reason"),
                "logprobs": None,
            }
        else:
            content = {
                "index": index,
                "text": choice.get("text", ""),
                "finish_reason": None,
                "logprobs": None,
            }
            finish = {
                "index": index,
                "text": "",
                "finish_reason": choice.get("finish_reason"),
                "logprobs": None,
            }
        events.append(_event({**header, "choices": [content]}))
        events.append(_event({**header, "choices": [finish]}))
    if include_usage and response.get("usage") is not None:
        events.append(_event({**header, "choices": [], "usage": response["usage"]}))
    events.append(b"data: [DONE]\n\n")
    return b"".join(events)
