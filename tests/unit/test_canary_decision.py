"""The canary watch's plan from the evidence (report/canary_decision.py), the pairs no judge is needed for, and the
pairwise judge's reply parsing and order (serving/canary_pairs.py, canary_judges.py), and which logged requests are
canary traffic (canary_answers.py)."""

from __future__ import annotations

import pytest

from llmops.backends.targets import ScoringReply
from llmops.report.canary_decision import decide
from llmops.report.sequential_test import evidence
from llmops.serving.canary_answers import answered
from llmops.serving.canary_judges import canary_first, parse_verdict
from llmops.serving.canary_pairs import MIRROR, SHADOW, AnswerPair, pair_answers
from llmops.serving.production_log import make_entry

STEPS = [10, 50, 100]


@pytest.mark.parametrize("outcomes,share,judged,expired,action,after", [
    ([-1] * 12, 10, 12, False, "rollback", 0),
    ([0] * 80, 10, 20, False, "promote", 50),
    ([0] * 80, 0, 20, False, "promote", 10),  # from mirror only to the first step
    ([0] * 80, 50, 20, False, "promote", 100),
    ([0] * 80, 50, 19, False, "watch", 50),  # non-inferior, but too few judged at this share
    ([0] * 5, 10, 5, False, "watch", 10),
    ([0] * 5, 10, 5, True, "expired", 10),
    ([-1] * 12, 10, 12, True, "rollback", 0),  # a rollback wins over the time limit
])
def test_plan(outcomes: list[int], share: int, judged: int, expired: bool, action: str, after: int) -> None:
    plan = decide(evidence(outcomes, 0.05, 0.1), share, STEPS, 20, judged, expired)
    assert (plan.action, plan.share_after) == (action, after)
    assert f"n={len(outcomes)}" in plan.reason


def pair(canary_status: int, canary: dict, live_status: int, live: dict) -> AnswerPair:
    return AnswerPair("r1", {"url": "u"}, canary_status, canary, live_status, live, MIRROR)


@pytest.mark.parametrize("made,settled", [
    (pair(500, {}, 200, {"c": "App"}), -1.0),
    (pair(200, {"c": "App"}, 504, {}), 1.0),
    (pair(500, {}, 500, {}), 0.0),
    (pair(200, {"c": "App"}, 200, {"c": "App"}), 0.0),
    (pair(200, {"c": "App"}, 200, {"c": "Movie"}), None),
])
def test_pairs_settled_without_a_judge(made: AnswerPair, settled: float | None) -> None:
    assert made.settled() == settled


@pytest.mark.parametrize("reply,verdict", [("A", "A"), (" b.", "B"), ("Tie", "TIE"), ("TIE - both fine", "TIE"),
                                           ("Answer A", None), ("", None), (None, None)])
def test_pairwise_reply(reply: str | None, verdict: str | None) -> None:
    assert parse_verdict(reply) == verdict


def test_pairwise_order_is_a_fair_coin_fixed_per_request() -> None:
    draws = [canary_first(f"request-{i}") for i in range(2000)]
    assert draws == [canary_first(f"request-{i}") for i in range(2000)]
    assert 0.45 < sum(draws) / len(draws) < 0.55


def logged(deployment: str, request_id: str, mirror: bool = False, forced: bool = False,
           probe: bool = False) -> dict:
    """A production-log line as the endpoint server writes it."""
    return make_entry("ep", deployment, mirror, 1.0, 200, {"url": request_id}, {"category": "App"}, request_id,
                      forced, probe)


def test_probes_and_forced_requests_are_never_canary_traffic() -> None:
    entries = [
        logged("green", "user"),  # a user's request the canary served: the one pair
        logged("green", "test-endpoint", probe=True),  # routed as users' are, but llmops testing the endpoint
        logged("blue", "test-endpoint-2", probe=True), logged("green", "test-endpoint-2", mirror=True, probe=True),
        logged("green", "smoke", forced=True, probe=True),
        logged("green", "forced-by-a-user", forced=True),  # traffic for post-prod-eval, but no canary sample
    ]
    shadowed: list[dict] = []

    def shadow(inputs: dict) -> ScoringReply:
        shadowed.append(inputs)
        return ScoringReply(200, "blue", {"category": "App"}, 0.01)

    found = [a for a in map(answered, entries) if a is not None]
    assert [a.probe for a in found] == [False, True, True, True, True, False]
    pairs = pair_answers(found, "green", "blue", set(), shadow)
    assert [(p.request_id, p.via) for p in pairs] == [("user", SHADOW)] and shadowed == [{"url": "user"}]
