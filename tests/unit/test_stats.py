"""Statistics against values computed by hand (the arithmetic is written next to each case)."""

from __future__ import annotations

import pytest

from llmops.report.stats import (
    estimate_mean,
    mcnemar_exact_p,
    paired_delta,
    regularized_incomplete_beta,
    student_t_cdf,
    student_t_quantile,
    t_interval,
    wilson_interval,
)

Z = 1.959963984540054  # the normal 0.975 quantile


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [  # Student t table values (two-sided 95% unless noted)
        (0.975, 1, 12.7062047361747),
        (0.975, 2, 4.30265272974946),
        (0.975, 3, 3.18244630528371),
        (0.975, 4, 2.77644510519779),
        (0.975, 5, 2.57058183563631),
        (0.975, 10, 2.22813885198627),
        (0.975, 30, 2.04227245630124),
        (0.975, 120, 1.97993040508242),
        (0.95, 10, 1.81246112281168),  # one-sided 95%
        (0.995, 4, 4.60409487134999),  # two-sided 99%
        (0.025, 5, -2.57058183563631),  # lower tail is the mirror image
        (0.5, 7, 0.0),
    ],
)
def test_t_quantile_matches_table(p: float, df: int, expected: float) -> None:
    assert student_t_quantile(p, df) == pytest.approx(expected, abs=1e-9)


def test_t_quantile_tends_to_the_normal_quantile() -> None:
    assert student_t_quantile(0.975, 10**7) == pytest.approx(Z, abs=1e-6)


@pytest.mark.parametrize("t", [-3.0, -0.5, 0.0, 0.7, 2.2281388519862744])
def test_t_cdf_inverts_the_quantile(t: float) -> None:
    assert student_t_quantile(student_t_cdf(t, 10), 10) == pytest.approx(t, abs=1e-9)


@pytest.mark.parametrize(
    ("a", "b", "x", "expected"),
    [
        (1.0, 1.0, 0.3, 0.3),  # I_x(1, 1) = x
        (3.0, 1.0, 0.5, 0.125),  # I_x(a, 1) = x^a = 0.5^3
        (1.0, 2.0, 0.4, 0.64),  # I_x(1, b) = 1 - (1 - x)^b = 1 - 0.36
        (4.5, 4.5, 0.5, 0.5),  # symmetric a = b at x = 1/2
        (2.0, 3.0, 0.0, 0.0),
        (2.0, 3.0, 1.0, 1.0),
    ],
)
def test_incomplete_beta_closed_forms(a: float, b: float, x: float, expected: float) -> None:
    assert regularized_incomplete_beta(a, b, x) == pytest.approx(expected, abs=1e-12)


def test_wilson_interval_eight_of_ten() -> None:
    # p = 0.8, z^2 = 3.841459, z^2/n = 0.3841459, denominator = 1.3841459
    # centre = (0.8 + 0.19207295) / 1.3841459 = 0.7167403
    # half = (1.959964 / 1.3841459) * sqrt(0.8 * 0.2 / 10 + 3.841459 / 400)
    #      = 1.4160150 * 0.1600114 = 0.2265785
    low, high = wilson_interval(8, 10)
    assert (low, high) == pytest.approx((0.7167403 - 0.2265785, 0.7167403 + 0.2265785), abs=1e-6)


def test_wilson_interval_zero_successes_stays_above_zero() -> None:
    # p = 0: low = 0, high = 2 * centre = (z^2/n) / (1 + z^2/n) = 0.7682918 / 1.7682918 = 0.4344830
    assert wilson_interval(0, 5) == pytest.approx((0.0, 0.4344830), abs=1e-6)


def test_t_interval_one_to_five() -> None:
    # mean 3, s = sqrt(10 / 4) = 1.5811388, s / sqrt(5) = 0.7071068, t(0.975, 4) = 2.7764451
    # half = 2.7764451 * 0.7071068 = 1.9632432
    assert t_interval([1, 2, 3, 4, 5]) == pytest.approx((3 - 1.9632432, 3 + 1.9632432), abs=1e-6)


@pytest.mark.parametrize(
    ("values", "mean", "n", "method", "note"),
    [
        ([1.0, 0.0, None, 1.0, float("nan")], 2 / 3, 3, "wilson", ""),  # None and NaN are missing lines
        ([1.0, 2.0, 3.0, 4.0, 5.0], 3.0, 5, "student-t", ""),
        ([0.5], 0.5, 1, "none", "fewer than 2 values"),
        ([1.0], 1.0, 1, "wilson", ""),  # Wilson is defined for one 0/1 value
        ([None, None], None, 0, "none", "no values"),
    ],
)
def test_estimate_mean_picks_the_interval(values, mean, n, method, note) -> None:
    estimate = estimate_mean(values)
    assert estimate.mean == (pytest.approx(mean) if mean is not None else None)
    assert (estimate.n, estimate.method, estimate.note) == (n, method, note)
    assert estimate.has_interval == (method != "none")


@pytest.mark.parametrize(
    ("baseline_only", "variant_only", "expected"),
    [
        (0, 0, 1.0),  # no discordant pair: no evidence either way
        (0, 6, 2 * 1 / 64),  # 2 * P(X <= 0), X ~ Bin(6, 1/2)
        (1, 5, 2 * (1 + 6) / 64),  # 2 * P(X <= 1) = 2 * 7/64 = 0.21875
        (5, 1, 2 * (1 + 6) / 64),  # symmetric
        (3, 3, 1.0),  # 2 * P(X <= 3) = 2 * 42/64 > 1, capped
        (2, 10, 2 * (1 + 12 + 66) / 4096),  # 2 * P(X <= 2), X ~ Bin(12, 1/2) = 0.0385742
    ],
)
def test_mcnemar_exact_p(baseline_only: int, variant_only: int, expected: float) -> None:
    assert mcnemar_exact_p(baseline_only, variant_only) == pytest.approx(expected, abs=1e-12)


def test_paired_delta_uses_only_lines_present_in_both() -> None:
    # The last line is missing in the baseline: 5 pairs, d = [0, -1, 1, 1, 0], mean 0.2
    # squared deviations 0.04 + 1.44 + 0.64 + 0.64 + 0.04 = 2.8, s^2 = 0.7, s / sqrt(5) = 0.3741657
    # half = 2.7764451 * 0.3741657 = 1.0388503; McNemar b = 1, c = 2: 2 * P(X <= 1 | n = 3) = 2 * 4/8 = 1
    delta = paired_delta([1, 1, 0, 0, 1, None], [1, 0, 1, 1, 1, 1])
    assert delta.n_pairs == 5
    assert delta.mean == pytest.approx(0.2)
    assert (delta.ci_low, delta.ci_high) == pytest.approx((0.2 - 1.0388503, 0.2 + 1.0388503), abs=1e-6)
    assert delta.mcnemar_p == 1.0
    assert (delta.significant, delta.verdict) == (False, "not significant")


def test_paired_delta_on_scores_has_no_mcnemar() -> None:
    # d = [1, 2, 3]: mean 2, s = 1, s / sqrt(3) = 0.5773503, t(0.975, 2) = 4.3026527: half = 2.4841377
    delta = paired_delta([3.0, 2.0, 1.0], [4.0, 4.0, 4.0])
    assert (delta.ci_low, delta.ci_high) == pytest.approx((2 - 2.4841377, 2 + 2.4841377), abs=1e-6)
    assert delta.mcnemar_p is None
    assert (delta.significant, delta.verdict) == (False, "not significant")


@pytest.mark.parametrize(
    ("baseline", "variant", "verdict"),
    [
        ([0, 0, 0, 0], [1, 1, 1, 1], "better"),  # d = 1 on every line: the interval is [1, 1]
        ([3.0, 4.0, 5.0, 6.0], [1.0, 2.1, 2.9, 4.0], "worse"),  # d = [-2, -1.9, -2.1, -2]
    ],
)
def test_paired_delta_significance(baseline, variant, verdict) -> None:
    delta = paired_delta(baseline, variant)
    assert (delta.significant, delta.verdict) == (True, verdict)


@pytest.mark.parametrize(
    ("baseline", "variant", "n_pairs", "note"),
    [
        ([None, 1.0], [1.0, None], 0, "no lines with values in both"),
        ([1.0, None], [0.0, 1.0], 1, "fewer than 2 paired lines"),
    ],
)
def test_paired_delta_without_interval_says_why(baseline, variant, n_pairs, note) -> None:
    delta = paired_delta(baseline, variant)
    assert (delta.n_pairs, delta.ci_low, delta.ci_high, delta.note, delta.significant) == (
        n_pairs,
        None,
        None,
        note,
        False,
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: student_t_quantile(1.0, 5), "t quantile needs 0 < p < 1, got p=1.0"),
        (lambda: student_t_quantile(0.9, 0), "t quantile needs df > 0, got df=0"),
        (lambda: wilson_interval(0, 0), "Wilson interval needs n > 0, got n=0"),
        (lambda: t_interval([1.0]), "t interval needs at least 2 values, got 1"),
        (lambda: paired_delta([1.0], [1.0, 0.0]), "paired values must be aligned: 1 baseline vs 2 variant"),
    ],
)
def test_bad_arguments_are_refused_with_the_value(call, message: str) -> None:
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value) == message
