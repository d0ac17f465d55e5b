"""The canary's sequential test (llmops/report/sequential_test.py): hand-computed wealth, exact error rates under
the null by dynamic programming over every outcome path (not sampling), and verdicts on clear streams."""

from __future__ import annotations

import math

import pytest

from llmops.report.sequential_test import (
    BET_FRACTIONS,
    BETTER,
    INCONCLUSIVE,
    NON_INFERIOR,
    WORSE,
    BettingTest,
    evidence,
    run_test,
)


def test_wealth_by_hand() -> None:
    # H0 delta >= 0, outcomes loss, win, tie: each gambler's factors are (1 + f), (1 - f), 1.
    test = run_test([-1, 1, 0], 0.0, against_higher=True)
    expected = [(1 + f) * (1 - f) for f in BET_FRACTIONS]
    assert test.wealths == pytest.approx(expected)
    assert test.wealth == pytest.approx(sum(expected) / len(expected))
    assert test.peak == pytest.approx(sum(1 + f for f in BET_FRACTIONS) / len(BET_FRACTIONS))  # after the loss


def test_non_inferiority_stakes_scale_with_the_margin() -> None:
    # H0 delta <= -0.2: the largest safe stake is 1 / 0.8; a tie earns 0.2 of the stake.
    test = BettingTest(-0.2, against_higher=False)
    assert test.max_stake == pytest.approx(1.25)
    assert test.factor(0.8, 0.0) == pytest.approx(1.2)
    assert test.factor(0.8, -1.0) == pytest.approx(0.2)  # never below 0, whatever the outcome


def _crossing_probability(p_win: float, p_loss: float, steps: int, null: float, against_higher: bool,
                          alpha: float) -> float:
    """P(the mixture's wealth reaches 1/alpha within `steps` outcomes), exactly: the wealth depends on the counts
    only, so paths are merged by (wins, losses, ties) and the mass that crossed is removed as it crosses."""
    p_tie = 1.0 - p_win - p_loss
    test = BettingTest(null, against_higher)

    logs = [(math.log(test.factor(f, 1)), math.log(test.factor(f, -1)), math.log(test.factor(f, 0)))
            for f in BET_FRACTIONS]

    def wealth(wins: int, losses: int, ties: int) -> float:
        return sum(math.exp(wins * a + losses * b + ties * c) for a, b, c in logs) / len(logs)

    alive = {(0, 0, 0): 1.0}
    crossed = 0.0
    for _ in range(steps):
        following: dict[tuple[int, int, int], float] = {}
        for (w, lo, t), mass in alive.items():
            for step, p in (((1, 0, 0), p_win), ((0, 1, 0), p_loss), ((0, 0, 1), p_tie)):
                if p == 0.0:
                    continue
                state = (w + step[0], lo + step[1], t + step[2])
                if wealth(*state) >= 1.0 / alpha:
                    crossed += mass * p
                else:
                    following[state] = following.get(state, 0.0) + mass * p
        alive = following
    return crossed


@pytest.mark.parametrize("p_win,p_loss", [(0.5, 0.5), (0.3, 0.3), (0.1, 0.1), (0.35, 0.25)])
def test_false_rollback_rate_is_at_most_alpha_when_checked_after_every_outcome(p_win: float, p_loss: float) -> None:
    # No true difference (or the canary better): the "worse" test crosses 1/alpha within 80 looks at most alpha.
    rate = _crossing_probability(p_win, p_loss, 80, 0.0, True, 0.05)
    assert rate <= 0.05
    assert rate > 0.0 or p_win > p_loss  # the bound is not vacuous: at the null it does cross sometimes


def test_false_non_inferiority_rate_is_at_most_alpha_at_the_margin() -> None:
    # delta exactly -0.1 (the margin): declaring the canary non-inferior is the error, at most alpha.
    rate = _crossing_probability(0.2, 0.3, 80, -0.1, False, 0.05)
    assert 0.0 < rate <= 0.05


def test_a_clearly_worse_canary_is_found_worse() -> None:
    result = evidence([-1, 0, -1, -1, 0, -1, -1, -1, 0, -1, -1, -1], alpha=0.05, margin=0.1)
    assert result.verdict == WORSE
    assert (result.n, result.wins, result.losses, result.ties) == (12, 0, 9, 3)
    assert result.mean == pytest.approx(-0.75)
    assert result.worse_e >= result.threshold == 20
    assert result.worse_p == pytest.approx(1 / result.worse_e)


def test_ties_alone_make_a_canary_non_inferior_but_never_better_or_worse() -> None:
    few, enough = evidence([0] * 10, 0.05, 0.1), evidence([0] * 80, 0.05, 0.1)
    assert few.verdict == INCONCLUSIVE and enough.verdict == NON_INFERIOR
    assert enough.worse_e == 1.0 and enough.better_e == 1.0
    # How many ties it takes is bounded in closed form by the largest stake's gambler: its wealth alone (at most
    # K times the mixture's) reaching 20 K suffices, and no gambler's wealth is higher, so it must reach 20.
    growth = math.log(1 + BET_FRACTIONS[-1] / 0.9 * 0.1)
    needed = next(n for n in range(1, 500) if evidence([0] * n, 0.05, 0.1).verdict == NON_INFERIOR)
    assert math.log(20) / growth <= needed <= math.ceil(math.log(20 * len(BET_FRACTIONS)) / growth)


def test_many_wins_make_a_canary_better() -> None:
    assert evidence([1, 0, 1, 1] * 8, 0.05, 0.1).verdict == BETTER


def test_a_rejection_stays_once_reached() -> None:
    # Early losses cross the threshold; later wins lower the wealth but not the verdict.
    result = evidence([-1] * 8 + [1] * 8, 0.05, 0.1)
    assert result.verdict == WORSE and result.mean == 0.0


@pytest.mark.parametrize("bad,message", [
    ({"outcomes": [2]}, "a paired outcome must be in [-1, 1], got 2.0"),
    ({"alpha": 0.0}, "alpha must be between 0 and 1, got 0.0"),
    ({"margin": 1.0}, "margin must be in [0, 1), got 1.0"),
])
def test_bad_arguments_are_refused(bad: dict, message: str) -> None:
    arguments = {"outcomes": [0], "alpha": 0.05, "margin": 0.1, **bad}
    with pytest.raises(ValueError) as raised:
        evidence(**arguments)
    assert str(raised.value) == message
