"""Where a canary watch finds the answered requests of an endpoint (an AnswerSource, llmops/backends/canary.py).

The local endpoint appends every answered request to its production log, mirror copies included, each with the
request id its live answer has (production_log.py), so the log is the source: no second copy of the traffic.

A cloud endpoint's servers ship their log to blob storage in segments (serving/log_shipping.py), each closed every
few seconds to minutes (production_logs.SEGMENT_ENV; CANARY.LOG_SEGMENT_SECONDS on an Azure ML online endpoint), so
the watch sees a request only once the segment holding it is shipped: about that long after it was answered.
`ShippedLogAnswers` reads the segments of the two deployments watched that may hold entries of the window, once
each (shipped_segments.py keeps them under the state directory, as post-production evaluation does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from llmops.backends.canary import AnsweredRequest
from llmops.backends.production_logs import ProductionLogStore
from llmops.errors import LlmopsError
from llmops.serving.production_log import is_probe, read_entries
from llmops.serving.shipped_segments import segment_entries

# How far apart the watcher's clock (which stamps the traffic map that opens the window) and a replica's (which
# names its segments) may be.
CLOCK_SKEW_S = 60.0


def answered(entry: dict[str, Any]) -> AnsweredRequest | None:
    """A log entry as an answered request; None for one no watch can use (no deployment or request id: refused
    before routing, or logged by a server older than request ids)."""
    request_id, deployment = entry.get("request_id"), entry.get("deployment")
    if not isinstance(request_id, str) or not isinstance(deployment, str) or entry.get("truncated"):
        return None  # a cut answer is not what the deployment said: judging it would mislead
    inputs, outputs = entry.get("inputs"), entry.get("outputs")
    return AnsweredRequest(request_id, str(entry.get("timestamp", "")), deployment, bool(entry.get("mirror")),
                           bool(entry.get("forced")), int(entry.get("status") or 0),
                           inputs if isinstance(inputs, dict) else {}, outputs if isinstance(outputs, dict) else {},
                           is_probe(entry))


@dataclass(frozen=True)
class ProductionLogAnswers:
    """The local endpoint's production log (and its rotated files) as an AnswerSource."""

    path: Path

    def answered_since(self, since: str) -> list[AnsweredRequest]:
        found = (answered(e) for e in read_entries(self.path) if str(e.get("timestamp", "")) >= since)
        return [a for a in found if a is not None]


@dataclass(frozen=True)
class ShippedLogAnswers:
    """The segments a cloud endpoint's servers shipped (a ProductionLogStore) as an AnswerSource.

    A server closes its open segment every `segment_s` seconds, so a segment named by its first entry's time holds
    nothing stamped more than `segment_s` after it: the segments that began up to twice that (plus CLOCK_SKEW_S)
    before `since` are read, besides the later ones; older ones are never downloaded."""

    state_dir: Path
    store: ProductionLogStore
    endpoint: str
    deployments: tuple[str, ...]  # the canary and the live deployment: the only ones paired
    segment_s: float

    def answered_since(self, since: str) -> list[AnsweredRequest]:
        try:
            start = datetime.fromisoformat(since).astimezone(UTC)
        except ValueError:
            raise LlmopsError(f"'{since}' is not an ISO time; the traffic history of endpoint '{self.endpoint}' "
                              "holds a map time llmops did not write") from None
        earliest = start - timedelta(seconds=2 * self.segment_s + CLOCK_SKEW_S)
        segments = [s for s in self.store.segments(self.endpoint)
                    if s.deployment in self.deployments and s.start >= earliest]
        entries = [e for s in segments for e in segment_entries(self.state_dir, self.store, s)
                   if str(e.get("timestamp", "")) >= since]
        entries.sort(key=lambda e: str(e.get("timestamp", "")))  # replicas' segments interleave
        return [a for a in map(answered, entries) if a is not None]
