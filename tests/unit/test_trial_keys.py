"""The repeated trial in a call's identity and in what goes upstream: trial 0 keeps every hash it had."""

from __future__ import annotations

from typing import Any

import pytest

from llmops.llm.gateway import Upstream
from llmops.llm.gateway.hashing import request_hash, trial_of_call
from llmops.llm.gateway.routes import Endpoint
from llmops.llm.gateway.tags import RouteTable, Tag
from llmops.llm.gateway.trial_seed import seeded_for_trial

BODY = {"messages": [{"role": "user", "content": "hi"}], "temperature": 0, "max_tokens": 5}
SAMPLED = {**BODY, "temperature": 0.7}
# Computed before trials existed: caches and cassettes recorded then must still be found.
PINNED = {
    "greedy": "076736b77167eac5b2e7b33a526e2aa43634ed8f2d185473c8e7d963caac9567",
    "sampled, repeat 0": "8cc520f87db23b8849e801bcdd5fd4fc2d9ea9aa313bcc99d4cadd20cf41ecbf",
}


def test_trial_zero_keeps_the_hashes_recorded_before_trials() -> None:
    assert request_hash(Endpoint.CHAT, "gpt-35-turbo", BODY, None, trial=0) == PINNED["greedy"]
    assert request_hash(Endpoint.CHAT, "gpt-35-turbo", SAMPLED, 0, trial=0) == PINNED["sampled, repeat 0"]


def test_later_trials_of_a_sampled_request_are_new_requests() -> None:
    hashes = {request_hash(Endpoint.CHAT, "gpt-35-turbo", SAMPLED, 0, trial=t) for t in range(3)}
    assert len(hashes) == 3
    # A trial is not a repeat: trial 1 of repeat 0 is not repeat 1 of trial 0.
    assert request_hash(Endpoint.CHAT, "m", SAMPLED, 0, trial=1) != request_hash(Endpoint.CHAT, "m", SAMPLED, 1)


@pytest.mark.parametrize(
    ("endpoint", "body", "carried"),
    [
        (Endpoint.CHAT, SAMPLED, 2),
        (Endpoint.CHAT, {"messages": []}, 2),  # no temperature: the APIs sample at 1
        (Endpoint.CHAT, BODY, 0),  # temperature 0: one answer, shared by the trials
        (Endpoint.EMBEDDINGS, {"input": "hi"}, 0),
    ],
)
def test_only_sampled_calls_carry_their_trial(endpoint: Endpoint, body: dict[str, Any], carried: int) -> None:
    assert trial_of_call(endpoint, body, 2) == carried


SEEDED = Upstream(name="embedded-test", kind="openai", base_url="http://127.0.0.1:9/v1", trial_seed=42)
UNSEEDED = Upstream(name="openai-test", kind="openai", base_url="http://127.0.0.1:9/v1")


@pytest.mark.parametrize(
    ("upstream", "body", "trial", "seed"),
    [
        (SEEDED, SAMPLED, 0, None),  # trial 0 goes as it always went: the server's own seed
        (SEEDED, SAMPLED, 2, 44),
        (SEEDED, {**SAMPLED, "seed": 7}, 2, 9),  # the flow's own seed moves with the trial too
        (SEEDED, BODY, 2, None),  # greedy: a seed changes nothing
        (UNSEEDED, SAMPLED, 2, None),  # a provider that samples at random needs no seed to differ
    ],
)
def test_seeded_upstreams_get_a_seed_per_trial(upstream: Upstream, body: dict[str, Any], trial: int,
                                               seed: int | None) -> None:
    sent = seeded_for_trial(upstream, Endpoint.CHAT, body, trial)
    assert sent.get("seed") == seed
    assert "seed" not in BODY and "seed" not in SAMPLED  # the request itself is left alone


def test_route_ids_of_trial_zero_are_unchanged_and_trials_get_their_own() -> None:
    table = RouteTable()
    plain, zero = table.add("aoai", Tag(run="r")), table.add("aoai", Tag(run="r", trial=0))
    assert plain == zero == "db68b9c032aab7b6"  # as before trials existed
    assert table.add("aoai", Tag(run="r", trial=1)) != plain
    assert table.resolve(table.add("aoai", Tag(run="r", trial=1))).tag.trial == 1
