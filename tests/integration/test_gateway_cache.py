"""The gateway's response cache over real loopback HTTP: misses, hits, a restart, a request sent again while the
first waits, a disabled cache, and the repeat index that keeps sampled requests apart."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from llmops.llm.gateway import Tag
from tests.support.gateway_http import azure_upstream, chat, keyed_gateway, rows
from tests.support.loopback_upstream import LoopbackUpstream

pytest_plugins = ["tests.support.gateway_fixtures"]  # the upstream fixture


def test_cache_misses_then_hits_and_survives_a_restart(upstream: LoopbackUpstream, tmp_path: Path) -> None:
    cache, accounting = tmp_path / "cache.sqlite", tmp_path / "calls.sqlite"
    with keyed_gateway({"aoai": azure_upstream(upstream)}, cache_path=cache, accounting_path=accounting) as gateway:
        url = gateway.route("aoai", "azure", Tag(run="r1"))
        first, second = chat(url), chat(url)
        other = chat(url, messages=[{"role": "user", "content": "Something else?"}])
    with keyed_gateway({"aoai": azure_upstream(upstream)}, cache_path=cache, accounting_path=accounting) as gateway:
        after_restart = chat(gateway.route("aoai", "azure", Tag(run="r2")))
    assert first == second == after_restart
    assert first[0] == other[0] == 200 and other[1] != first[1]
    assert len(upstream.requests) == 2
    assert rows(accounting, "run, cache, attempts") == [
        ("r1", "miss", 1),
        ("r1", "hit", 0),
        ("r1", "miss", 1),
        ("r2", "hit", 0),
    ]


def test_disabled_cache_calls_the_upstream_every_time(upstream: LoopbackUpstream) -> None:
    with keyed_gateway({"aoai": azure_upstream(upstream)}, cache_path=None) as gateway:
        url = gateway.route("aoai", "azure", Tag())
        chat(url), chat(url)
    assert len(upstream.requests) == 2


def test_sampled_requests_get_a_repeat_index_per_run(upstream: LoopbackUpstream, tmp_path: Path) -> None:
    cache, accounting = tmp_path / "cache.sqlite", tmp_path / "calls.sqlite"
    with keyed_gateway({"aoai": azure_upstream(upstream)}, cache_path=cache, accounting_path=accounting) as gateway:
        url = gateway.route("aoai", "azure", Tag(run="trials"))
        for _ in range(3):
            chat(url, temperature=0.7)
        chat(url, temperature=0), chat(url, temperature=0)
    with keyed_gateway({"aoai": azure_upstream(upstream)}, cache_path=cache, accounting_path=accounting) as gateway:
        url = gateway.route("aoai", "azure", Tag(run="trials"))
        for _ in range(4):
            chat(url, temperature=0.7)
    sampled = [0.7, 0.7, 0.7, 0.0, 0.0, 0.7, 0.7, 0.7, 0.7]
    outcomes = [cache for (cache,) in rows(accounting, "cache")]
    assert list(zip(sampled, outcomes, strict=True)) == [
        (0.7, "miss"),
        (0.7, "miss"),
        (0.7, "miss"),
        (0.0, "miss"),
        (0.0, "hit"),
        (0.7, "hit"),
        (0.7, "hit"),
        (0.7, "hit"),
        (0.7, "miss"),  # the 4th trial is new: repeat index 3
    ]
    hashes = [h for (h,) in rows(accounting, "request_hash")]
    assert len(set(hashes[:3])) == 3 and hashes[5:8] == hashes[:3]


def test_a_request_sent_again_while_the_first_waits_is_answered_from_the_cache(tmp_path: Path) -> None:
    # A client that gives up on a call queued at a one-slot upstream sends it again; when the first copy is
    # answered, the second finds that answer once its slot comes, instead of asking the upstream twice.
    accounting = tmp_path / "calls.sqlite"
    with (
        LoopbackUpstream(latency_s=0.3) as slow,
        keyed_gateway({"aoai": azure_upstream(slow, max_concurrency=1)}, cache_path=tmp_path / "cache.sqlite",
                      accounting_path=accounting) as gateway,
    ):
        url = gateway.route("aoai", "azure", Tag(run="r"))
        answers: list[tuple[int, dict[str, Any]]] = []
        first = threading.Thread(target=lambda: answers.append(chat(url)))
        first.start()
        while not slow.requests:  # the first copy holds the slot
            time.sleep(0.01)
        answers.append(chat(url))
        first.join()
    assert len(slow.requests) == 1
    assert answers[0] == answers[1] and answers[0][0] == 200
    assert rows(accounting, "cache, attempts") == [("miss", 1), ("hit", 0)]
