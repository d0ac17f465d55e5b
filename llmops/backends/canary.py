"""What a canary watch reads and writes through the backend seams: answered requests and its decision log.

`endpoint watch` judges a new deployment (the canary) against the live one on the same requests and moves traffic
by a sequential test (llmops/steps/canary_watch.py). Each target supplies the answered requests of its endpoint
(an `AnswerSource`: the local endpoint's production log, or the segments a cloud endpoint's servers shipped; see
serving/canary_answers.py), and each decision, with its evidence, goes to a `DecisionLog` kept where the endpoint's
state lives, where `endpoint status` shows it: the local endpoint registry for the local endpoint, the production-log
container (production_logs.ProductionLogStore) for a cloud endpoint, so a watch run by CI is read from a laptop.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

# What a decision did. `watch` is a checkpoint: new evidence, traffic unchanged.
STARTED, WATCH, PROMOTE, ROLLBACK, PROMOTED, EXPIRED = "started", "watch", "promote", "rollback", "promoted", "expired"


@dataclass(frozen=True)
class AnsweredRequest:
    """One request as the endpoint logged it: who answered, whether it was a mirror copy, forced (it named its
    deployment) or a probe (llmops testing the endpoint: a smoke test, test-endpoint, a watch's shadow request),
    and what came back."""

    request_id: str
    timestamp: str
    deployment: str
    mirror: bool
    forced: bool
    status: int
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    probe: bool = False


class AnswerSource(Protocol):
    """The answered requests of one endpoint, from wherever its target keeps them."""

    def answered_since(self, since: str) -> list[AnsweredRequest]:
        """Every request logged at or after `since` (an ISO UTC time), oldest first."""
        ...


@dataclass(frozen=True)
class CanaryDecision:
    endpoint: str
    canary: str
    live: str
    action: str  # STARTED, WATCH, PROMOTE, ROLLBACK, PROMOTED, EXPIRED
    share_before: int  # the canary's live share before the decision (0 with mirror only)
    share_after: int
    judge: str
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)  # n, wins, losses, ties, statistics, threshold
    seq: int = 0  # given by the registry
    created_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        moved = (f"{self.canary} {self.share_before}% -> {self.share_after}%" if self.share_before != self.share_after
                 else f"{self.canary} stays at {self.share_after}%")
        return f"{self.created_at}  {self.action}: {moved}; {self.reason}"


class DecisionLog(Protocol):
    """Where an endpoint's canary decisions are kept, newest last."""

    def record_decision(self, decision: CanaryDecision) -> CanaryDecision:
        """Keep a canary watch's decision with its evidence; returns it with its sequence number and time."""
        ...

    def decisions(self, endpoint: str, limit: int | None = None) -> list[CanaryDecision]:
        """The endpoint's canary decisions, oldest first (the newest `limit` of them when given)."""
        ...
