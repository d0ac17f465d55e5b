"""What the gateway's accounting records over real loopback HTTP: a call's tags, and its cost from the price
table."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops.llm.gateway import CallTotals, ModelPrice, PriceTable, Tag, call_totals
from tests.support.gateway_http import azure_upstream, chat, keyed_gateway, rows
from tests.support.loopback_upstream import LoopbackUpstream

pytest_plugins = ["tests.support.gateway_fixtures"]  # the upstream fixture


def test_tags_reach_the_accounting(upstream: LoopbackUpstream, tmp_path: Path) -> None:
    accounting = tmp_path / "calls.sqlite"
    with keyed_gateway({"aoai": azure_upstream(upstream)}, accounting_path=accounting) as gateway:
        for variant, line in (("v0", 0), ("v0", 1), ("v1", 0)):
            url = gateway.route(
                "aoai", "azure", Tag(run="exp-1", variant=variant, flow="web", node="classify", line=line)
            )
            chat(url, messages=[{"role": "user", "content": f"{variant} line {line}"}])
    per_variant = call_totals(accounting, group_by=("run", "variant"))
    assert rows(accounting, "run, variant, flow, node, line, connection, upstream, model, endpoint, status") == [
        ("exp-1", "v0", "web", "classify", 0, "aoai", "stub-azure", "gpt-35-turbo", "chat", 200),
        ("exp-1", "v0", "web", "classify", 1, "aoai", "stub-azure", "gpt-35-turbo", "chat", 200),
        ("exp-1", "v1", "web", "classify", 0, "aoai", "stub-azure", "gpt-35-turbo", "chat", 200),
    ]
    assert [(t.group, t.calls) for t in per_variant] == [
        ({"run": "exp-1", "variant": "v0"}, 2),
        ({"run": "exp-1", "variant": "v1"}, 1),
    ]


def test_cost_comes_from_the_price_table(upstream: LoopbackUpstream, tmp_path: Path) -> None:
    prices = PriceTable({"gpt-35-turbo": ModelPrice(prompt_per_1k=0.5, completion_per_1k=1.5)})
    with keyed_gateway(
        {"aoai": azure_upstream(upstream)},
        prices=prices,
        cache_path=tmp_path / "cache.sqlite",
        accounting_path=tmp_path / "calls.sqlite",
    ) as gateway:
        url = gateway.route("aoai", "azure", Tag(run="priced"))
        _, answer = chat(url)
        chat(url)  # a cache hit: no money spent
        totals: CallTotals = gateway.run_totals("priced")
    usage = answer["usage"]
    expected = (usage["prompt_tokens"] * 0.5 + usage["completion_tokens"] * 1.5) / 1000
    assert rows(tmp_path / "calls.sqlite", "cache, cost_usd") == [
        ("miss", pytest.approx(expected)),
        ("hit", 0.0),
    ]
    assert (totals.calls, totals.cache_hits, totals.cost_usd) == (2, 1, pytest.approx(expected))
    assert totals.prompt_tokens == 2 * usage["prompt_tokens"]
