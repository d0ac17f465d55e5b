from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops.errors import ConfigError, NotFoundError
from llmops.llm.gateway.accounting import AccountingWriter, CallRecord
from llmops.llm.gateway.prices import ModelPrice, PriceTable, default_prices_path
from llmops.llm.gateway.totals import call_totals, percentile, run_totals


def record(
    run: str,
    variant: str,
    latency_ms: float,
    cache: str = "miss",
    status: int = 200,
    cost: float = 0.01,
    attempts: int = 1,
) -> CallRecord:
    return CallRecord(
        ts="2026-11-22T05:00:00.000+00:00",
        run=run,
        variant=variant,
        flow="f",
        node="n",
        line=None,
        connection="aoai",
        upstream="u",
        model="gpt-35-turbo",
        endpoint="chat",
        prompt_tokens=10,
        completion_tokens=5,
        latency_ms=latency_ms,
        cache=cache,
        attempts=attempts,
        status=status,
        cost_usd=cost,
        request_hash="h",
        error="",
    )


def test_totals_per_run_and_variant(tmp_path: Path) -> None:
    db = tmp_path / "calls.sqlite"
    writer = AccountingWriter(db)
    for latency in range(1, 101):
        writer.record(record("r1", "v0" if latency <= 60 else "v1", float(latency)))
    writer.record(record("r1", "v1", 5.0, cache="hit", cost=0.0, attempts=0))
    writer.record(record("r2", "v0", 7.0, status=424, cost=0.0, attempts=3))
    writer.close()
    run = run_totals(db, "r1")
    assert (run.calls, run.prompt_tokens, run.completion_tokens, run.total_tokens, run.cache_hits) == (
        101,
        1010,
        505,
        1515,
        1,
    )
    assert (run.cost_usd, run.p50_latency_ms, run.p95_latency_ms) == (pytest.approx(1.0), 50.0, 95.0)
    assert [(t.group, t.calls, t.failed_calls, t.attempts) for t in call_totals(db, group_by=("run", "variant"))] == [
        ({"run": "r1", "variant": "v0"}, 60, 0, 60),
        ({"run": "r1", "variant": "v1"}, 41, 0, 40),
        ({"run": "r2", "variant": "v0"}, 1, 1, 3),
    ]
    assert run_totals(db, "no-llm-calls").calls == 0


def test_flush_makes_queued_records_visible(tmp_path: Path) -> None:
    db = tmp_path / "calls.sqlite"
    writer = AccountingWriter(db)
    writer.record(record("r", "v", 1.0))
    writer.flush()
    assert run_totals(db, "r").calls == 1
    writer.close()


def test_query_errors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as missing:
        call_totals(tmp_path / "none.sqlite")
    with pytest.raises(NotFoundError) as column:
        call_totals(tmp_path / "none.sqlite", group_by=("colour",))
    assert str(missing.value) == (
        f"no LLM accounting database at '{tmp_path / 'none.sqlite'}'; pass the accounting_path the gateway used"
    )
    assert str(column.value) == (
        "unknown accounting column 'colour'; valid: cache, connection, endpoint, flow, "
        "model, node, run, upstream, variant"
    )


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [([], 0.5, 0.0), ([4.0], 0.95, 4.0), ([1.0, 2.0], 0.5, 1.5), ([1.0, 2.0, 3.0, 4.0, 5.0], 0.95, 4.8)],
)
def test_percentile_interpolates(values: list[float], share: float, expected: float) -> None:
    assert percentile(values, share) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("model", "prompt", "completion"),
    [
        ("gpt-35-turbo", 0.0005, 0.0015),
        ("gpt-4o-2024-08-06", 0.0025, 0.01),  # longest listed prefix
        ("gpt-4o-mini-2024-07-18", 0.00015, 0.0006),
        ("qwen2.5-coder-1.5b-instruct", 0.0, 0.0),  # the embedded model: default
        ("simulated-gpt-35-turbo", 0.0, 0.0),
    ],
)
def test_repository_price_table(model: str, prompt: float, completion: float) -> None:
    prices = PriceTable.load(default_prices_path())
    assert prices.price_for(model) == ModelPrice(prompt, completion)
    assert prices.cost(model, 2000, 1000) == pytest.approx(2 * prompt + completion)


def test_price_file_problems_are_all_reported(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps({"default": {"prompt_per_1k": -1},
                    "models": {"m": {"prompt_per_1k": "cheap", "output": 1, "completion_per_1K": 2}}})
    )
    with pytest.raises(ConfigError) as raised:
        PriceTable.load(path)
    assert raised.value.problems == [
        f"{path}: default.prompt_per_1k: -1 must be a number >= 0",
        f"{path}: models.m.completion_per_1K: unknown key; did you mean 'completion_per_1k'? valid: completion_per_1k, "
        "prompt_per_1k",
        f"{path}: models.m.output: unknown key; valid: completion_per_1k, prompt_per_1k",
        f"{path}: models.m.prompt_per_1k: 'cheap' must be a number >= 0",
    ]
