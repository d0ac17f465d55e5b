"""Where an endpoint server in Azure ships its production log, and how post-production evaluation finds it again.

The server (llmops/serving/log_shipping.py) uploads each closed segment of its log to one blob container of the
workspace's storage account, CONTAINER, as `<endpoint>/<deployment>/<YYYY-MM-DD>/<start>-<sha256>.jsonl`: the date
and start time of the segment's first entry (UTC), then the first 16 hex digits of the sha256 of its bytes. A
name is thus fixed by the bytes, so an upload retried after a lost answer writes the same blob again, and two
replicas never write one blob. The cloud targets tell the server the container (URL_ENV) and, for a user-assigned
identity, its client id (CLIENT_ID_ENV); the server signs in as the deployment's managed identity, never with a
key. `llmops post-prod-eval` lists the segments, reads those it has not evaluated yet, and keeps their names in
`_post_prod/<endpoint>/<env>.json` in the same container; `llmops endpoint watch` reads the segments of a canary and
its live deployment, and keeps its decisions in `_canary/<endpoint>/<seq>.json` (endpoint names start with a
letter, so no endpoint's segments live under either).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from llmops.backends.canary import DecisionLog
from llmops.config.deployment_config import WebAppEndpoint

if TYPE_CHECKING:
    from llmops.config.deployment_config import OnlineEndpoint

CONTAINER = "llmops-production-logs"
URL_ENV = "LLMOPS_PRODUCTION_LOG_URL"  # https://<account>.blob.core.windows.net/llmops-production-logs
CLIENT_ID_ENV = "LLMOPS_PRODUCTION_LOG_CLIENT_ID"  # a user-assigned identity's client id (web apps)
# How often a server closes the open segment and ships it (seconds): an answered request is in storage, where
# post-prod-eval and a canary watch read it, about this long after it was logged.
SEGMENT_ENV = "LLMOPS_PRODUCTION_LOG_SEGMENT_S"
SEGMENT_S = 300.0  # the server's default, when its environment does not say
RECORDS_PREFIX = "_post_prod"
DECISIONS_PREFIX = "_canary"
_NAME = re.compile(r"^(?P<endpoint>[^/]+)/(?P<deployment>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/"
                   r"(?P<start>\d{8}T\d{6})(?P<ms>\d{3})Z-(?P<digest>[0-9a-f]{16})\.jsonl$")


@dataclass(frozen=True, order=True)
class Segment:
    """One uploaded segment, ordered by when its first entry was written."""

    start: datetime
    name: str  # the blob's name
    endpoint: str
    deployment: str


def segment_name(endpoint: str, deployment: str, first_entry: datetime, sha256: str) -> str:
    start = first_entry.astimezone(UTC)
    stamp = f"{start:%Y%m%dT%H%M%S}{start.microsecond // 1000:03d}Z"  # to the millisecond, as entries are stamped
    return f"{endpoint}/{deployment}/{start:%Y-%m-%d}/{stamp}-{sha256[:16]}.jsonl"


def parse_segment(name: str) -> Segment | None:
    """The segment a blob name stands for; None for any other blob (an evaluation record, a stray file)."""
    found = _NAME.match(name)
    if not found:
        return None
    start = datetime.strptime(found["start"], "%Y%m%dT%H%M%S").replace(tzinfo=UTC, microsecond=int(found["ms"]) * 1000)
    return Segment(start, name, found["endpoint"], found["deployment"])


def segment_seconds(block: OnlineEndpoint | WebAppEndpoint) -> float:
    """How often the block's cloud servers ship a segment: SEGMENT_ENV when an online endpoint's
    ENVIRONMENT_VARIABLES set it (the user's word wins), else CANARY.LOG_SEGMENT_SECONDS, which the Azure ML targets
    give every deployment and the web app target every slot."""
    if isinstance(block, WebAppEndpoint):
        return block.CANARY.LOG_SEGMENT_SECONDS
    raw = block.ENVIRONMENT_VARIABLES.get(SEGMENT_ENV, "").strip()
    try:
        return float(raw) if raw and float(raw) > 0 else block.CANARY.LOG_SEGMENT_SECONDS
    except ValueError:  # the server refuses it at start, naming the variable
        return block.CANARY.LOG_SEGMENT_SECONDS


def record_name(endpoint: str, env: str) -> str:
    return f"{RECORDS_PREFIX}/{endpoint}/{env}.json"


def decision_name(endpoint: str, seq: int) -> str:
    """A canary decision's blob: zero-padded, so names sort as their sequence numbers do."""
    return f"{DECISIONS_PREFIX}/{endpoint}/{seq:08d}.json"


class ProductionLogStore(DecisionLog, Protocol):
    """The container an endpoint's servers ship their production log to, as post-production evaluation and a canary
    watch read it; and the records kept beside the log: what post-prod-eval evaluated, the canary decisions."""

    @property
    def location(self) -> str:
        """Where it is, for the user: the container's URL."""
        ...

    def segments(self, endpoint: str) -> list[Segment]:
        """Every segment of the endpoint's deployments, oldest first."""
        ...

    def read(self, name: str) -> bytes:
        ...

    def evaluated(self, endpoint: str, env: str) -> set[str]:
        """The segments post-prod-eval of `env` has evaluated before."""
        ...

    def record_evaluated(self, endpoint: str, env: str, names: set[str]) -> None:
        """Add `names` to the segments evaluated."""
        ...
