"""pass@k, pass^k and the clustered intervals against values worked out by hand and exact expectations."""

from __future__ import annotations

import math

import pytest

from llmops.report.clustered_intervals import (
    CLUSTER_T,
    WILSON_CLUSTERED,
    cluster_robust_variance,
    clustered_estimate,
    line_means,
)
from llmops.report.pass_at_k import LineTrials, line_trials, mean_pass_at_k, mean_pass_hat_k, pass_at_k, pass_hat_k
from llmops.report.stats import estimate_mean, t_interval, wilson_interval


@pytest.mark.parametrize(
    ("n", "c", "k", "at", "hat"),
    [
        (3, 1, 1, 1 / 3, 1 / 3),  # k = 1: both are the pass rate
        (3, 1, 2, 2 / 3, 0.0),  # pass@2: 1 - C(2,2)/C(3,2); pass^2: C(1,2) = 0
        (3, 2, 2, 1.0, 1 / 3),  # any 2 of 3 hold a pass; both pass in 1 of the 3 pairs
        (3, 1, 3, 1.0, 0.0),  # k = n: any pass / every pass
        (3, 3, 3, 1.0, 1.0),
        (3, 0, 3, 0.0, 0.0),
        (10, 3, 4, 1 - math.comb(7, 4) / math.comb(10, 4), math.comb(3, 4) / math.comb(10, 4)),
    ],
)
def test_pass_at_k_and_pass_hat_k_of_one_line(n: int, c: int, k: int, at: float, hat: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(at)
    assert pass_hat_k(n, c, k) == pytest.approx(hat)


@pytest.mark.parametrize(("n", "k", "p"), [(5, 2, 0.3), (5, 5, 0.8), (8, 3, 0.55)])
def test_the_estimators_are_unbiased(n: int, k: int, p: float) -> None:
    """Their exact expectation over c ~ Binomial(n, p) is 1 - (1 - p)^k and p^k."""
    weight = [math.comb(n, c) * p**c * (1 - p) ** (n - c) for c in range(n + 1)]
    assert math.fsum(w * pass_at_k(n, c, k) for c, w in enumerate(weight)) == pytest.approx(1 - (1 - p) ** k)
    assert math.fsum(w * pass_hat_k(n, c, k) for c, w in enumerate(weight)) == pytest.approx(p**k)


@pytest.mark.parametrize(("n", "c", "k"), [(3, 4, 1), (3, 1, 0), (3, 1, 4), (0, 0, 1)])
def test_impossible_counts_are_refused(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError, match="pass@k needs"):
        pass_at_k(n, c, k)


def test_line_trials_count_passes_and_flag_flaky_lines() -> None:
    lines = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    values = [1.0, 1.0, 1.0, 1.0, 0.0, None, 0.0, 0.0, 0.0]  # line 1's third trial failed to run
    found = line_trials(lines, values)
    assert found == [LineTrials(0, 3, 3), LineTrials(1, 2, 1), LineTrials(2, 3, 0)]
    assert [t.flaky for t in found] == [False, True, False]
    # pass@3 leaves out line 1 (2 trials); pass@2 takes all three lines.
    assert mean_pass_at_k(found, 3).mean == pytest.approx(1 / 2)
    assert (mean_pass_at_k(found, 3).n, mean_pass_at_k(found, 2).n) == (2, 3)
    assert mean_pass_at_k(found, 2).mean == pytest.approx((1 + 1 + 0) / 3)
    assert mean_pass_hat_k(found, 2).mean == pytest.approx((1 + 0 + 0) / 3)


def test_one_value_per_line_is_the_unclustered_estimate() -> None:
    values = [1.0, 0.0, 1.0, 1.0, 0.0]
    assert clustered_estimate(range(5), values) == estimate_mean(values)
    continuous = [0.2, 0.9, 0.4, 0.5]
    assert clustered_estimate(range(4), continuous) == estimate_mean(continuous)


def test_balanced_continuous_trials_give_the_t_interval_of_the_line_means() -> None:
    lines, values = [0, 0, 1, 1, 2, 2], [0.2, 0.4, 0.6, 0.8, 0.1, 0.3]
    mean, variance = cluster_robust_variance([[0.2, 0.4], [0.6, 0.8], [0.1, 0.3]])
    assert (mean, variance) == pytest.approx((0.4, 0.07 / 3))  # the variance of the line means / 3 lines
    estimate = clustered_estimate(lines, values)
    assert estimate.method == CLUSTER_T
    assert (estimate.mean, estimate.n) == (pytest.approx(0.4), 6)
    assert (estimate.ci_low, estimate.ci_high) == pytest.approx(t_interval([0.3, 0.7, 0.2]))
    assert line_means(lines, values) == pytest.approx({0: 0.3, 1: 0.7, 2: 0.2})


@pytest.mark.parametrize(
    ("by_line", "same_as"),
    [
        # Every line always agrees with itself: deff reaches its ceiling 3, so 12 values count as 4 lines.
        ([[1, 1, 1], [0, 0, 0], [1, 1, 1], [0, 0, 0]], (2, 4)),
        # Trials disagree within lines more than chance would: deff is held at 1, the 12 values count fully.
        ([[1, 0, 1], [0, 1, 0], [1, 0, 1], [0, 1, 0]], (6, 12)),
        # Every value 1: no clustering can be estimated, so the conservative choice, one value per line.
        ([[1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1]], (4, 4)),
    ],
)
def test_binary_trials_get_a_wilson_interval_on_the_effective_sample_size(
    by_line: list[list[int]], same_as: tuple[int, int]
) -> None:
    lines = [i for i, trials in enumerate(by_line) for _ in trials]
    values = [float(v) for trials in by_line for v in trials]
    estimate = clustered_estimate(lines, values)
    assert estimate.method == WILSON_CLUSTERED
    assert estimate.n == 12
    assert (estimate.ci_low, estimate.ci_high) == pytest.approx(wilson_interval(*same_as))


def test_a_single_line_has_no_clustered_interval() -> None:
    estimate = clustered_estimate([4, 4, 4], [1.0, 0.0, 1.0])
    assert (estimate.mean, estimate.ci_low, estimate.note) == (pytest.approx(2 / 3), None, "fewer than 2 lines")


def test_misaligned_values_are_refused() -> None:
    with pytest.raises(ValueError, match="aligned: 2 line ids vs 3 values"):
        clustered_estimate([0, 1], [1.0, 0.0, 1.0])


def test_pass_at_k_intervals_stay_within_0_and_1() -> None:
    # Per-line shares 1, 1, ..., 2/3: the t interval of their mean reaches above 1 and is cut there.
    lines = [LineTrials(i, 3, 3) for i in range(8)] + [LineTrials(8, 3, 2), LineTrials(9, 3, 2)]
    estimate = mean_pass_at_k(lines, 1)
    assert estimate.mean == pytest.approx(28 / 30)
    assert estimate.ci_high == 1.0 and estimate.ci_low == pytest.approx(0.8328, abs=1e-4)
