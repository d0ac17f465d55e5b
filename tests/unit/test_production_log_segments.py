"""The names of shipped production-log segments, and the time window post-prod-eval reads a log through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from llmops.backends.production_logs import Segment, parse_segment, record_name, segment_name
from llmops.cli.main import main
from llmops.steps.post_prod_eval import LogWindow

DIGEST = "0123456789abcdef" * 4


def test_a_segment_name_carries_endpoint_deployment_date_start_and_digest_and_reads_back() -> None:
    start = datetime(2026, 11, 26, 23, 59, 58, 123456, tzinfo=timezone(timedelta(hours=-2)))  # 01:59 UTC next day
    name = segment_name("web-ep", "blue", start, DIGEST)
    assert name == "web-ep/blue/2026-11-27/20261127T015958123Z-0123456789abcdef.jsonl"
    assert parse_segment(name) == Segment(datetime(2026, 11, 27, 1, 59, 58, 123000, tzinfo=UTC), name, "web-ep",
                                          "blue")


@pytest.mark.parametrize("name", [
    record_name("web-ep", "prod"),  # the evaluation record beside the segments
    "web-ep/blue/2026-11-27/20261127T015958Z-0123456789abcdef.jsonl",  # no milliseconds
    "web-ep/blue/20261127T015958123Z-0123456789abcdef.jsonl",  # no date folder
    "web-ep/blue/2026-11-27/20261127T015958123Z-0123456789ABCDEF.jsonl",  # not our digest
    "web-ep/blue/2026-11-27/notes.txt",
])
def test_other_blobs_are_not_segments(name: str) -> None:
    assert parse_segment(name) is None


def test_segments_order_by_start() -> None:
    early = segment_name("ep", "green", datetime(2026, 1, 1, tzinfo=UTC), DIGEST)
    late = segment_name("ep", "blue", datetime(2026, 1, 2, tzinfo=UTC), DIGEST)
    assert sorted([parse_segment(late), parse_segment(early)]) == [parse_segment(early), parse_segment(late)]


@pytest.mark.parametrize(("window", "stamp", "held"), [
    (LogWindow(), "2026-11-26T10:00:00.000+00:00", True),
    (LogWindow(since=datetime(2026, 11, 26, tzinfo=UTC)), "2026-11-25T23:59:59.999+00:00", False),
    (LogWindow(since=datetime(2026, 11, 26, tzinfo=UTC)), "2026-11-26T00:00:00.000+00:00", True),
    (LogWindow(until=datetime(2026, 11, 26, 12, tzinfo=UTC)), "2026-11-26T13:00:00.000+01:00", True),
    (LogWindow(until=datetime(2026, 11, 26, 12, tzinfo=UTC)), "2026-11-26T12:00:00.001+00:00", False),
    (LogWindow(since=datetime(2026, 11, 26, tzinfo=UTC)), "not a time", False),
])
def test_the_window_holds_entries_by_their_timestamp(window: LogWindow, stamp: str, held: bool) -> None:
    assert window.holds({"timestamp": stamp}) is held


def test_a_since_that_is_not_a_time_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["post-prod-eval", "-u", "mini", "-e", "dev", "--since", "last tuesday"]) == 2
    assert ("argument --since: 'last tuesday' is not a date or time; give one like 2026-11-26 or 2026-11-26T18:00 "
            "(UTC unless it says, e.g. +02:00)") in capsys.readouterr().err
