"""Where a canary watch finds the answered requests of an endpoint (an AnswerSource, llmops/backends/canary.py).

The local endpoint appends every answered request to its production log, mirror copies included, each with the
request id its live answer has (production_log.py), so the log is the source: no second copy of the traffic.

A cloud target needs the same: its replicas' production logs where it writes them (LLMOPS_PRODUCTION_LOG_DIR on a
web app's storage mount or a Kubernetes pod's blob volume, read back with production_log.read_tree), or, on a
managed online endpoint, which mounts no storage, Azure ML's data collector with request and response payload
logging. Until a target implements that reader, `endpoint watch` refuses it, naming what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.backends.canary import AnsweredRequest
from llmops.serving.production_log import read_entries


def answered(entry: dict[str, Any]) -> AnsweredRequest | None:
    """A log entry as an answered request; None for one no watch can use (no deployment or request id: refused
    before routing, or logged by a server older than request ids)."""
    request_id, deployment = entry.get("request_id"), entry.get("deployment")
    if not isinstance(request_id, str) or not isinstance(deployment, str) or entry.get("truncated"):
        return None  # a cut answer is not what the deployment said: judging it would mislead
    inputs, outputs = entry.get("inputs"), entry.get("outputs")
    return AnsweredRequest(request_id, str(entry.get("timestamp", "")), deployment, bool(entry.get("mirror")),
                           bool(entry.get("forced")), int(entry.get("status") or 0),
                           inputs if isinstance(inputs, dict) else {}, outputs if isinstance(outputs, dict) else {})


@dataclass(frozen=True)
class ProductionLogAnswers:
    """The local endpoint's production log (and its rotated files) as an AnswerSource."""

    path: Path

    def answered_since(self, since: str) -> list[AnsweredRequest]:
        found = (answered(e) for e in read_entries(self.path) if str(e.get("timestamp", "")) >= since)
        return [a for a in found if a is not None]
