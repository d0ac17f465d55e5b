from __future__ import annotations

import json
from typing import Any

from llmops.llm.gateway.routes import Endpoint
from llmops.llm.gateway.streaming import sse_from_response

USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


def events(stream: bytes) -> list[Any]:
    assert stream.endswith(b"data: [DONE]\n\n")
    parts = stream.decode().split("\n\n")
    assert all(p.startswith("data: ") for p in parts if p)
    return [json.loads(p[len("data: ") :]) for p in parts if p and p != "data: [DONE]"]


def test_chat_answer_becomes_content_then_finish_then_usage() -> None:
    response = {
        "id": "c1",
        "created": 7,
        "model": "m",
        "usage": USAGE,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi there"}, "finish_reason": "stop"}],
    }
    chunks = events(sse_from_response(Endpoint.CHAT, response, include_usage=True))
    assert [(c["object"], c["id"], c["choices"]) for c in chunks] == [
        (
            "chat.completion.chunk",
            "c1",
            [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": "Hi there"},
                    "finish_reason": None,
                    "logprobs": None,
                }
            ],
        ),
        (
            "chat.completion.chunk",
            "c1",
            [{"index": 0, "delta": {}, "finish_reason": "stop", "logprobs": None}],
        ),
        ("chat.completion.chunk", "c1", []),
    ]
    assert chunks[-1]["usage"] == USAGE


def test_tool_calls_are_streamed_with_their_index() -> None:
    call = {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    response = {
        "id": "c",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                "finish_reason": "tool_calls",
            }
        ],
    }
    first = events(sse_from_response(Endpoint.CHAT, response, include_usage=False))[0]
    assert first["choices"][0]["delta"]["tool_calls"] == [{"index": 0, **call}]


def test_completion_answer_streams_text_without_usage_unless_asked() -> None:
    response = {
        "id": "t",
        "created": 1,
        "model": "m",
        "usage": USAGE,
        "choices": [{"index": 0, "text": "abc", "finish_reason": "length"}],
    }
    chunks = events(sse_from_response(Endpoint.COMPLETIONS, response, include_usage=False))
    assert [(c["object"], c["choices"][0]["text"], c["choices"][0]["finish_reason"]) for c in chunks] == [
        ("text_completion", "abc", None),
        ("text_completion", "", "length"),
    ]
