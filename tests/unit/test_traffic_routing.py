"""Traffic maps: parsing, whole-map validation, weighted and sticky routing, mirror draws."""

from __future__ import annotations

from collections import Counter

import pytest

from llmops.backends.traffic import Split, check_split, parse_split, split_problems
from llmops.errors import LlmopsError, UsageError
from llmops.serving.traffic import Router, sticky_bucket

FORM = "write it as name=share,name=share (for example blue=90,green=10)"


@pytest.mark.parametrize(("text", "expected"), [
    ("blue=90,green=10", {"blue": 90, "green": 10}),
    (" blue = 100 ", {"blue": 100}),
    ("blue=0,green=100,", {"blue": 0, "green": 100}),
])
def test_parse_split(text: str, expected: dict[str, int]) -> None:
    assert parse_split(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("blue", f"--set 'blue': 'blue' is not name=share; {FORM}"),
    ("=10", f"--set '=10': '=10' is not name=share; {FORM}"),
    ("blue=ninety", f"--set 'blue=ninety': share of 'blue' must be a whole number from 0 to 100, got 'ninety'; {FORM}"),
    ("blue=101", f"--set 'blue=101': share of 'blue' must be a whole number from 0 to 100, got '101'; {FORM}"),
    ("blue=-5", f"--set 'blue=-5': share of 'blue' must be a whole number from 0 to 100, got '-5'; {FORM}"),
    ("blue=50,blue=50", "--set 'blue=50,blue=50': 'blue' appears twice; name each deployment once"),
    (",", f"--set ',' names no deployment; {FORM}"),
])
def test_parse_split_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_split(text)
    assert str(caught.value) == message


DEPLOYMENTS = ["blue", "green"]


@pytest.mark.parametrize(("split", "problems"), [
    (Split({"blue": 90, "green": 10}), []),
    (Split({"blue": 100, "green": 0}, {"green": 50}), []),
    (Split({"blue": 90, "red": 10}),
     ["unknown deployment 'red' in the live map; deployments: blue, green"]),
    (Split({"blue": 90, "green": 20}), ["live shares must sum to 100, got 110 (blue=90,green=20)"]),
    (Split({}), ["live shares must sum to 100, got 0 (empty)"]),
    (Split({"blue": 100}, {"green": 60}), ["mirror share of 'green' is 60; at most 50"]),
    (Split({"blue": 90, "green": 10}, {"green": 10}),
     ["mirror to 'green', which takes 10% of live traffic; mirror only to a deployment that takes no live traffic"]),
    (Split({"blue": 100}, {"red": 5}), ["unknown deployment 'red' in the mirror map; deployments: blue, green"]),
    (Split({"blue": 100.0}),  # type: ignore[dict-item]
     ["live share of 'blue' must be a whole number from 0 to 100, got 100.0",
      "live shares must sum to 100, got 0 (blue=100.0)"]),
])
def test_split_problems(split: Split, problems: list[str]) -> None:
    assert split_problems(split, DEPLOYMENTS) == problems


def test_check_split_lists_every_problem_and_changes_nothing() -> None:
    with pytest.raises(LlmopsError) as caught:
        check_split(Split({"blue": 50, "red": 60}), DEPLOYMENTS, "web")
    assert str(caught.value) == (
        "traffic map 'blue=50,red=60' for endpoint 'web' is not valid: unknown deployment 'red' in the live map; "
        "deployments: blue, green; live shares must sum to 100, got 110 (blue=50,red=60); nothing was changed")


def test_weighted_random_follows_the_shares() -> None:
    router = Router(Split({"blue": 90, "green": 10}), seed=3)
    counts = Counter(router.choose() for _ in range(20_000))
    assert set(counts) == {"blue", "green"}
    assert abs(counts["green"] / 20_000 - 0.10) < 0.01


def test_zero_share_and_empty_map() -> None:
    router = Router(Split({"blue": 100, "green": 0}), seed=1)
    assert {router.choose() for _ in range(500)} == {"blue"}
    assert Router(Split()).choose() is None


def test_same_seed_same_draws() -> None:
    first, second = Router(Split({"a": 50, "b": 50}), seed=9), Router(Split({"a": 50, "b": 50}), seed=9)
    assert [first.choose() for _ in range(200)] == [second.choose() for _ in range(200)]


def test_sticky_key_always_lands_on_the_same_deployment() -> None:
    router = Router(Split({"blue": 90, "green": 10}), seed=5)
    keys = [f"session-{i}" for i in range(2_000)]
    first = {key: router.choose(key) for key in keys}
    assert all(router.choose(key) == first[key] for key in keys for _ in range(3))
    # Another server process (another Router, another seed) sends each key to the same place.
    assert {key: Router(Split({"blue": 90, "green": 10}), seed=77).choose(key) for key in keys} == first
    assert abs(Counter(first.values())["green"] / len(keys) - 0.10) < 0.03


@pytest.mark.parametrize(("key", "bucket"), [("user-42", 29), ("a", 50), ("", 52)])
def test_sticky_bucket_is_fixed_by_the_key(key: str, bucket: int) -> None:
    # The first 8 bytes of sha256(key), big-endian, modulo 100: the same in every process and release.
    assert sticky_bucket(key) == bucket


def test_sticky_bucket_picks_by_cumulative_share() -> None:
    # Deployments in name order: blue takes buckets 0-29, green 30-99; "user-42" is bucket 29, "a" is 50.
    router = Router(Split({"blue": 30, "green": 70}))
    assert (router.choose("user-42"), router.choose("a")) == ("blue", "green")


@pytest.mark.parametrize(("share", "low", "high"), [(0, 0, 0), (10, 800, 1200), (50, 4700, 5300)])
def test_mirror_draws(share: int, low: int, high: int) -> None:
    router = Router(Split({"blue": 100, "green": 0}, {"green": share}), seed=11)
    copies = sum(len(router.mirrors()) for _ in range(10_000))
    assert low <= copies <= high
