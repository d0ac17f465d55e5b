"""The canary's answers paired with the live deployment's answers to the SAME requests.

Two ways to get the live answer, chosen per request by how the canary got it:
- mirror: the canary answered a copy of a live request; the live answer is in the log under the same request id
  (nothing more to send);
- shadow: the canary answered a user's request itself (it takes a live share); the watch sends the same inputs to
  the live deployment alone (the azureml-model-deployment header), a forced probe the log marks as such.
Forced requests and probes (smoke tests, test-endpoint, the watch's own shadow requests, mirror copies of any of
them) are never taken as canary traffic, and a request refused for its own fault (4xx) says nothing about either
deployment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from llmops.backends.canary import AnsweredRequest
from llmops.backends.targets import ScoringReply

MIRROR, SHADOW = "mirror", "shadow"


@dataclass(frozen=True)
class AnswerPair:
    request_id: str
    inputs: dict[str, Any]
    canary_status: int
    canary_outputs: dict[str, Any]
    live_status: int
    live_outputs: dict[str, Any]
    via: str  # MIRROR or SHADOW

    @property
    def canary_ok(self) -> bool:
        return self.canary_status == 200

    @property
    def live_ok(self) -> bool:
        return self.live_status == 200

    def settled(self) -> float | None:
        """The outcome when no judge is needed (+1 canary better, -1 worse, 0 tie): a failed answer loses to a good
        one, two failures tie, identical answers tie; None when the two answers must be judged."""
        if not (self.canary_ok and self.live_ok):
            return 0.0 if self.canary_ok == self.live_ok else (1.0 if self.canary_ok else -1.0)
        return 0.0 if self.canary_outputs == self.live_outputs else None


def _client_fault(status: int) -> bool:
    return 400 <= status < 500


def pair_answers(answers: Iterable[AnsweredRequest], canary: str, live: str, seen: set[str],
                 shadow: Callable[[dict[str, Any]], ScoringReply]) -> list[AnswerPair]:
    """The pairs of canary answers not in `seen` (request ids, updated), oldest first. `shadow` sends inputs to the
    live deployment alone."""
    answers = list(answers)
    live_answers = {a.request_id: a for a in answers if a.deployment == live and not a.mirror}
    pairs = []
    for answer in answers:
        if answer.deployment != canary or answer.forced or answer.probe or answer.request_id in seen:
            continue
        if _client_fault(answer.status):
            seen.add(answer.request_id)
            continue
        if answer.mirror:
            partner = live_answers.get(answer.request_id)
            if partner is None or _client_fault(partner.status):
                continue  # the live answer is not logged yet (or was refused): look again next time
            pair = AnswerPair(answer.request_id, answer.inputs, answer.status, answer.outputs, partner.status,
                              partner.outputs, MIRROR)
        else:
            reply = shadow(answer.inputs)
            if _client_fault(reply.status):
                seen.add(answer.request_id)
                continue
            outputs = reply.body if reply.status == 200 and isinstance(reply.body, dict) else {}
            pair = AnswerPair(answer.request_id, answer.inputs, answer.status, answer.outputs, reply.status, outputs,
                              SHADOW)
        seen.add(answer.request_id)
        pairs.append(pair)
    return pairs
