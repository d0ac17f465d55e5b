"""Verdicts against production, Holm's step-down correction and the contrasts behind them, against known values."""

from __future__ import annotations

import math

import pytest

from llmops.report.noninferiority import (
    BETTER,
    INCONCLUSIVE,
    NON_INFERIOR,
    WORSE,
    BootstrapContrast,
    PairedContrast,
    decide,
    holm,
    verdict,
)


@pytest.mark.parametrize(("low", "high", "margin", "expected"), [
    (0.01, 0.2, 0.05, BETTER),  # the whole interval above 0
    (-0.04, 0.1, 0.05, NON_INFERIOR),  # may be a little worse, never by the margin
    (-0.04, -0.01, 0.05, NON_INFERIOR),  # surely worse, but within the margin
    (-0.2, -0.06, 0.05, WORSE),  # surely worse by more than the margin
    (-0.1, 0.1, 0.05, INCONCLUSIVE),  # could be worse by the margin, could be better
    (-0.1, -0.03, 0.05, INCONCLUSIVE),  # worse, but not surely past the margin
    (-0.05, 0.1, 0.05, INCONCLUSIVE),  # a lower bound exactly at -margin is not above it
    (0.0, 0.0, 0.0, INCONCLUSIVE),  # no margin: identical answers prove nothing non-inferior
])
def test_verdict_reads_the_interval(low: float, high: float, margin: float, expected: str) -> None:
    assert verdict(low, high, margin) == expected


def test_holm_matches_the_step_down_by_hand() -> None:
    # Sorted: 0.005 <= 0.05/4, 0.01 <= 0.05/3, then 0.03 > 0.05/2 stops: 0.04 is not rejected though <= 0.05/1.
    steps = holm([0.01, 0.04, 0.03, 0.005], alpha=0.05)
    assert [s.rejected for s in steps] == [True, False, False, True]
    assert [s.alpha for s in steps] == pytest.approx([0.05 / 3, 0.05 / 1, 0.05 / 2, 0.05 / 4])
    # Adjusted p-values: running maximum of (m - k + 1) p_(k): 4*0.005, 3*0.01, 2*0.03, max(0.06, 0.04).
    assert [s.adjusted_p for s in steps] == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_with_one_check_is_the_plain_test() -> None:
    (step,) = holm([0.02])
    assert (step.alpha, step.adjusted_p, step.rejected) == (0.025, 0.02, True)


def test_paired_contrast_is_the_paired_t_interval() -> None:
    contrast = PairedContrast((1.0, 2.0, 3.0, 4.0, 5.0))
    # mean 3, s = sqrt(2.5), se = s / sqrt(5) = 0.7071; t(0.975, 4) = 2.776445 (tables)
    low, high = contrast.interval(0.95) or (math.nan, math.nan)
    assert (low, high) == pytest.approx((3 - 2.776445 * math.sqrt(0.5), 3 + 2.776445 * math.sqrt(0.5)), abs=1e-5)
    # One-sided p of H0: mean <= 0: t = 4.2426 with 4 df; for 4 df, F(t) = 1/2 + 3/4 a (1 - a^2 / 3), a = t/sqrt(4+t^2)
    t = 3 / math.sqrt(0.5)
    a = t / math.sqrt(4 + t * t)
    assert contrast.p_value(0.0) == pytest.approx(1 - (0.5 + 0.75 * a * (1 - a * a / 3)), rel=1e-6)


def test_paired_contrast_without_spread_is_exact() -> None:
    same = PairedContrast((0.0,) * 10)
    assert same.interval(0.95) == (0.0, 0.0)
    assert (same.p_value(-0.05), same.p_value(0.0)) == (0.0, 1.0)
    assert PairedContrast((1.0,)).interval(0.95) is None and PairedContrast((1.0,)).p_value(0.0) == 1.0


def test_bootstrap_contrast_uses_percentiles_and_the_share_below() -> None:
    contrast = BootstrapContrast(0.5, tuple(i / 100 for i in range(101)))  # replicates 0.00 .. 1.00
    assert contrast.interval(0.9) == pytest.approx((0.05, 0.95))
    assert contrast.p_value(0.1) == pytest.approx(12 / 102)  # 0.00 .. 0.10 are at or below, plus one
    assert BootstrapContrast(None, ()).interval(0.95) is None


def test_decide_reads_each_interval_at_its_holm_level() -> None:
    clearly_fine = PairedContrast((0.0, 0.01, -0.01, 0.0, 0.02, -0.02, 0.0, 0.01) * 3)
    broken = PairedContrast((-1.0, 0.0, -1.0, -1.0, 0.0, -1.0) * 2)
    fine, worse = decide([clearly_fine, broken], [0.05, 0.05])
    assert fine.verdict == NON_INFERIOR and worse.verdict == WORSE
    # The smaller p-value is tested at 0.025 / 2 (interval level 97.5%), the other at 0.025 (95%).
    assert (fine.level, worse.level) == pytest.approx((0.975, 0.95))
    assert fine.low == pytest.approx((clearly_fine.interval(0.975) or (0.0,))[0])


def test_decide_stops_where_holm_stops() -> None:
    """A check whose own interval clears -margin is inconclusive when a check ranked before it was not rejected."""
    # p-values (share of 1000 replicates at or below -margin, plus one): 16/1001 and 21/1001.
    first = BootstrapContrast(0.0, (-0.2,) * 15 + (0.0,) * 985)
    second = BootstrapContrast(0.0, (-0.2,) * 20 + (0.0,) * 980)
    assert decide([second], [0.05])[0].verdict == NON_INFERIOR  # alone: 21/1001 <= 0.025
    held_back, blocked = decide([first, second], [0.05, 0.05])
    assert held_back.verdict == INCONCLUSIVE  # 16/1001 > 0.025 / 2: Holm stops here
    assert blocked.low is not None and blocked.low > -0.05  # its 95% interval alone would say non-inferior
    assert blocked.verdict == INCONCLUSIVE
    assert blocked.note == "not significant after Holm's correction (adjusted p 0.0320)"


def test_decide_without_an_interval_is_inconclusive() -> None:
    (decision,) = decide([PairedContrast((0.5,))], [0.1])
    assert (decision.verdict, decision.note) == (INCONCLUSIVE, "too few lines for an interval")
