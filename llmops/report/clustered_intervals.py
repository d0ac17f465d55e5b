"""Intervals for a mean over repeated trials: the trials of one line are a cluster, not independent values.

A line's trials share the line (its difficulty, its input), so they agree more than values from different
lines do. An interval that counted each trial as a new line would be too narrow by about the square root of
the design effect, deff = 1 + (k - 1) * ICC for k trials per line. Method (pure Python, no scipy):

- The mean is the ratio estimator p = sum of all values / number of values (lines weighted by their trials).
- Its cluster-robust (CR1) variance over the n lines, y_i the sum and m_i the count of line i's values:
  V = n / (n - 1) * sum_i (y_i - p * m_i)^2 / (sum_i m_i)^2. With one value per line this is s^2 / n, the
  plain Student t variance; with k values per line everywhere it is the variance of the line means / n.
- Values that are all 0 or 1: a Wilson score interval on the effective sample size N / deff, with
  deff = V / (p (1 - p) / N) kept within [1, N / n] (between independent trials and one value per line).
  When p is 0 or 1 the design effect cannot be estimated and the conservative N / n (= the lines) is used.
- Other values: p +/- t(0.975, n - 1) * sqrt(V).
benchmarks/stats_interval_coverage.py checks by simulation that both cover about 95% of the time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from llmops.report.stats import CONFIDENCE, Estimate, estimate_mean, is_binary, normal_quantile, student_t_quantile

WILSON_CLUSTERED = "wilson-clustered"
CLUSTER_T = "cluster-t"


def line_groups(lines: Sequence[int], values: Sequence[float | None]) -> dict[int, list[float]]:
    """The present values of each line (None and NaN dropped), lines in first-seen order."""
    if len(lines) != len(values):
        raise ValueError(f"clustered values must be aligned: {len(lines)} line ids vs {len(values)} values")
    groups: dict[int, list[float]] = {}
    for line, value in zip(lines, values, strict=True):
        if value is not None and math.isfinite(float(value)):
            groups.setdefault(line, []).append(float(value))
    return groups


def line_means(lines: Sequence[int], values: Sequence[float | None]) -> dict[int, float]:
    """Each line's mean over its present values: the unit a paired comparison across trials works on."""
    return {line: math.fsum(kept) / len(kept) for line, kept in line_groups(lines, values).items()}


def cluster_robust_variance(groups: Sequence[Sequence[float]]) -> tuple[float, float]:
    """(ratio mean, its CR1 variance) over clusters of values; at least 2 clusters, none empty."""
    n = len(groups)
    if n < 2 or any(not g for g in groups):
        raise ValueError(f"cluster-robust variance needs at least 2 non-empty clusters, got {n}")
    total = sum(len(g) for g in groups)
    mean = math.fsum(math.fsum(g) for g in groups) / total
    residuals = math.fsum((math.fsum(g) - mean * len(g)) ** 2 for g in groups)
    return mean, n / (n - 1) * residuals / (total * total)


def wilson_from_proportion(proportion: float, n: float, level: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval for a proportion seen over an effective sample size `n` (may be fractional)."""
    if n <= 0:
        raise ValueError(f"Wilson interval needs n > 0, got n={n!r}")
    z = normal_quantile(0.5 + level / 2.0)
    denominator = 1.0 + z * z / n
    centre = (proportion + z * z / (2 * n)) / denominator
    half_width = z / denominator * math.sqrt(proportion * (1 - proportion) / n + z * z / (4 * n * n))
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def design_effect(groups: Sequence[Sequence[float]], mean: float, variance: float) -> float:
    """How many times the clustered variance of a 0/1 mean exceeds the independent one, within [1, N / n]."""
    total = sum(len(g) for g in groups)
    ceiling = total / len(groups)
    independent = mean * (1.0 - mean) / total
    if independent <= 0.0:
        return ceiling  # p is 0 or 1: nothing to estimate the clustering from, so assume the worst
    return min(ceiling, max(1.0, variance / independent))


def clustered_estimate(lines: Sequence[int], values: Sequence[float | None], level: float = CONFIDENCE) -> Estimate:
    """Mean over every present value with an interval that treats each line's values as one cluster.

    With one value per line it is exactly `stats.estimate_mean` (Wilson or Student t on the values).
    `n` of the estimate is the number of values; the interval's uncertainty is that of the lines.
    """
    groups = list(line_groups(lines, values).values())
    if all(len(g) == 1 for g in groups):
        return estimate_mean([g[0] for g in groups], level)
    kept = [v for g in groups for v in g]
    total = len(kept)
    mean = math.fsum(kept) / total
    if len(groups) < 2:
        return Estimate(mean, total, None, None, "none", "fewer than 2 lines")
    mean, variance = cluster_robust_variance(groups)
    if is_binary(kept):
        effective = total / design_effect(groups, mean, variance)
        low, high = wilson_from_proportion(mean, effective, level)
        return Estimate(mean, total, low, high, WILSON_CLUSTERED)
    half_width = student_t_quantile(0.5 + level / 2.0, len(groups) - 1) * math.sqrt(variance)
    return Estimate(mean, total, mean - half_width, mean + half_width, CLUSTER_T)
