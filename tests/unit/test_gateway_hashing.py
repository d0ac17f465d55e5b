from __future__ import annotations

from typing import Any

import pytest

from llmops.llm.gateway.hashing import RepeatCounter, cache_key, canonical_request, is_sampled, request_hash
from llmops.llm.gateway.routes import Endpoint

BODY = {"messages": [{"role": "user", "content": "hi"}], "temperature": 0, "max_tokens": 5}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({**BODY, "model": "gpt-35-turbo"}, BODY),  # the model is hashed apart from the body
        (
            {**BODY, "stream": True, "stream_options": {"include_usage": True}},
            BODY,
        ),  # delivery is not identity
        ({"max_tokens": 5, "temperature": 0, "messages": BODY["messages"]}, BODY),  # key order
        ({**BODY, "temperature": 0.0, "top_p": 1.0}, {**BODY, "top_p": 1}),  # 0.0 == 0, 1.0 == 1
    ],
)
def test_requests_that_ask_the_same_thing_share_a_hash(first: dict[str, Any], second: dict[str, Any]) -> None:
    assert request_hash(Endpoint.CHAT, "gpt-35-turbo", first, None) == request_hash(
        Endpoint.CHAT, "gpt-35-turbo", second, None
    )


@pytest.mark.parametrize(
    ("endpoint", "model", "body", "repeat"),
    [
        (Endpoint.COMPLETIONS, "gpt-35-turbo", BODY, None),
        (Endpoint.CHAT, "gpt-4o", BODY, None),
        (Endpoint.CHAT, "gpt-35-turbo", {**BODY, "max_tokens": 6}, None),
        (Endpoint.CHAT, "gpt-35-turbo", BODY, 0),
        (Endpoint.CHAT, "gpt-35-turbo", BODY, 1),
    ],
)
def test_anything_else_changes_the_hash(
    endpoint: Endpoint, model: str, body: dict[str, Any], repeat: int | None
) -> None:
    assert request_hash(endpoint, model, body, repeat) != request_hash(Endpoint.CHAT, "gpt-35-turbo", BODY, None)


def test_cache_key_binds_the_hash_to_one_upstream() -> None:
    digest = request_hash(Endpoint.CHAT, "gpt-35-turbo", BODY, None)
    assert cache_key("embedded", digest) != cache_key("azure-contoso", digest)
    assert cache_key("embedded", digest) == cache_key("embedded", digest)


@pytest.mark.parametrize(
    ("endpoint", "body", "sampled"),
    [
        (Endpoint.CHAT, {"temperature": 0}, False),
        (Endpoint.CHAT, {"temperature": 0.7}, True),
        (Endpoint.CHAT, {}, True),  # the APIs' default temperature is 1
        (Endpoint.CHAT, {"temperature": None}, True),
        (Endpoint.COMPLETIONS, {"temperature": "0.2"}, True),
        (Endpoint.EMBEDDINGS, {"input": "x"}, False),
    ],
)
def test_sampled_means_temperature_above_zero(endpoint: Endpoint, body: dict[str, Any], sampled: bool) -> None:
    assert is_sampled(endpoint, body) is sampled


def test_repeat_counter_numbers_identical_requests_per_run() -> None:
    counter = RepeatCounter()
    seen = [
        counter.next(run, digest) for run, digest in [("r1", "a"), ("r1", "a"), ("r1", "b"), ("r2", "a"), ("r1", "a")]
    ]
    assert seen == [0, 1, 0, 0, 2]


def test_canonical_request_keeps_the_question() -> None:
    assert canonical_request({**BODY, "model": "m", "stream": True, "temperature": 1.0}) == {
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 1,
        "max_tokens": 5,
    }
