"""A canary watch's answers from a cloud endpoint's shipped segments: which segments it downloads, what it keeps."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from llmops.backends.canary import CanaryDecision
from llmops.backends.endpoints import Deployment, Endpoint
from llmops.backends.production_logs import SEGMENT_ENV, Segment, parse_segment, segment_name, segment_seconds
from llmops.config.deployment_config import OnlineEndpoint, WebAppEndpoint
from llmops.errors import LlmopsError
from llmops.serving.canary_answers import CLOCK_SKEW_S, ShippedLogAnswers

SINCE = datetime(2026, 5, 4, 12, 0, 0, 250000, tzinfo=UTC)


@dataclass
class MemoryStore:
    """The ProductionLogStore protocol over a dict of blobs; counts the downloads."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)

    @property
    def location(self) -> str:
        return "memory://logs"

    def ship(self, deployment: str, entries: list[dict]) -> str:
        data = "".join(json.dumps(e) + "\n" for e in entries).encode()
        first = datetime.fromisoformat(entries[0]["timestamp"])
        name = segment_name("ep", deployment, first, hashlib.sha256(data).hexdigest())
        self.blobs[name] = data
        return name

    def segments(self, endpoint: str) -> list[Segment]:
        return sorted(s for s in map(parse_segment, self.blobs) if s is not None and s.endpoint == endpoint)

    def read(self, name: str) -> bytes:
        self.reads.append(name)
        return self.blobs[name]

    def evaluated(self, endpoint: str, env: str) -> set[str]:
        return set()

    def record_evaluated(self, endpoint: str, env: str, names: set[str]) -> None:
        pass

    def record_decision(self, decision: CanaryDecision) -> CanaryDecision:
        return decision

    def decisions(self, endpoint: str, limit: int | None = None) -> list[CanaryDecision]:
        return []


def entry(deployment: str, at: datetime, request_id: str) -> dict:
    return {"timestamp": at.isoformat(timespec="milliseconds"), "deployment": deployment, "request_id": request_id,
            "status": 200, "inputs": {"url": request_id}, "outputs": {"category": "App"}}


def source(tmp_path: Path, store: MemoryStore, segment_s: float = 60.0) -> ShippedLogAnswers:
    return ShippedLogAnswers(tmp_path, store, "ep", ("green", "blue"), segment_s)


def test_only_the_window_of_the_watched_deployments_is_read_oldest_first(tmp_path: Path) -> None:
    store = MemoryStore()
    old = store.ship("green", [entry("green", SINCE - timedelta(hours=3), "ancient")])
    straddling = store.ship("green", [entry("green", SINCE - timedelta(seconds=30), "before"),
                                      entry("green", SINCE + timedelta(seconds=20), "g-after")])
    store.ship("blue", [entry("blue", SINCE + timedelta(seconds=5), "b-after")])
    other = store.ship("red", [entry("red", SINCE + timedelta(seconds=1), "r-after")])
    found = source(tmp_path, store).answered_since(SINCE.isoformat(timespec="milliseconds"))
    assert [(a.deployment, a.request_id) for a in found] == [("blue", "b-after"), ("green", "g-after")]
    assert old not in store.reads and other not in store.reads and straddling in store.reads


def test_the_lookback_is_twice_the_segment_interval_plus_the_clock_skew(tmp_path: Path) -> None:
    store = MemoryStore()
    edge = 2 * 10 + CLOCK_SKEW_S
    inside = store.ship("green", [entry("green", SINCE - timedelta(seconds=edge - 1), "in"),
                                  entry("green", SINCE + timedelta(seconds=1), "kept")])
    outside = store.ship("green", [entry("green", SINCE - timedelta(seconds=edge + 1), "out")])
    found = source(tmp_path, store, segment_s=10).answered_since(SINCE.isoformat())
    assert [a.request_id for a in found] == ["kept"]
    assert store.reads == [inside] and outside not in store.reads


def test_a_segment_is_downloaded_once_then_read_from_the_state_directory(tmp_path: Path) -> None:
    store = MemoryStore()
    name = store.ship("green", [entry("green", SINCE + timedelta(seconds=1), "one")])
    watched = source(tmp_path, store)
    for _ in range(3):
        assert [a.request_id for a in watched.answered_since(SINCE.isoformat())] == ["one"]
    assert store.reads == [name]
    assert (tmp_path / "endpoints/ep/shipped" / name).is_file()


def test_a_window_start_that_is_no_time_is_named(tmp_path: Path) -> None:
    with pytest.raises(LlmopsError, match="'yesterday' is not an ISO time"):
        source(tmp_path, MemoryStore()).answered_since("yesterday")


@pytest.mark.parametrize(("variables", "canary", "expected"), [
    ({}, {}, 60.0),
    ({}, {"LOG_SEGMENT_SECONDS": 5}, 5.0),
    ({SEGMENT_ENV: "2"}, {"LOG_SEGMENT_SECONDS": 5}, 2.0),  # the user's own variable wins, as the server reads it
    ({SEGMENT_ENV: "soon"}, {"LOG_SEGMENT_SECONDS": 5}, 5.0),  # the server refuses it at start, naming it
])
def test_segment_seconds(variables: dict, canary: dict, expected: float) -> None:
    block = OnlineEndpoint.model_validate({"ENV_NAME": "dev", "ENVIRONMENT_VARIABLES": variables, "CANARY": canary})
    assert segment_seconds(block) == expected


def test_a_web_app_ships_as_often_as_its_canary_settings_say() -> None:
    block = WebAppEndpoint.model_validate({"ENV_NAME": "dev", "CANARY": {"LOG_SEGMENT_SECONDS": 7}})
    assert segment_seconds(block) == 7.0
    assert segment_seconds(WebAppEndpoint.model_validate({"ENV_NAME": "dev"})) == 60.0


def web_app_state(*slots: tuple[str, str]) -> Endpoint:
    deployments = tuple(Deployment("app", name, "m", 1, "flows/standard", {}, "", {}, "", slot) for slot, name in slots)
    return Endpoint("app", "mini", "dev", "webapp", 0, deployments, None)


def test_on_a_web_app_the_staging_slots_release_is_watched_against_productions() -> None:
    from llmops.steps.canary_watch import watched_pair

    block = WebAppEndpoint.model_validate({"ENV_NAME": "dev"})
    state = web_app_state(("production", "2-aaa"), ("staging", "3-bbb"))
    assert watched_pair(block, state) == ("3-bbb", "2-aaa")
    with pytest.raises(LlmopsError, match=r"web app 'app' has no release on its staging slot to watch \(production "
                                          r"2-aaa\); deploy the new release with CURRENT_DEPLOYMENT"):
        watched_pair(block, web_app_state(("production", "2-aaa")))
