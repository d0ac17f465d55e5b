"""Confidence intervals and paired comparisons for evaluation metrics (pure Python, no scipy).

Method (also printed in every report footer, from `METHOD_NOTE`):

- Mean of a metric over the lines of one variant, with a 95% interval:
  * every value is 0 or 1 -> Wilson score interval, z = 1.959964 (it stays inside [0, 1] and is
    well behaved for small n and proportions near 0 or 1, where the normal interval is not);
  * otherwise -> Student t interval: mean +/- t(0.975, n-1) * s / sqrt(n), s the sample standard
    deviation. No interval with fewer than 2 values.
- Difference of a variant against the baseline on the SAME lines (present and non-missing in both):
  d_i = variant_i - baseline_i, mean(d) +/- t(0.975, n-1) * s_d / sqrt(n) (the paired t interval).
  Pairing removes the line-to-line difficulty both variants share, so it is much tighter than
  comparing two independent intervals. A delta whose interval contains 0 is "not significant".
  For 0/1 metrics the exact McNemar test is added: a two-sided binomial test (p = 1/2) on the
  discordant pairs (b = baseline 1 and variant 0, c = baseline 0 and variant 1).
- The Student t quantile is found by bisection on the regularized incomplete beta function
  (two-sided tail of t with v degrees of freedom = I_x(v/2, 1/2), x = v / (v + t^2)), which is
  evaluated with its continued fraction (modified Lentz).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

CONFIDENCE = 0.95

METHOD_NOTE = (
    "Intervals are 95%. Metric means: Wilson score interval when every per-line value is 0 or 1, "
    "Student t interval otherwise. Deltas compare each variant with the baseline on the same lines "
    "(lines present and non-missing in both): mean paired difference with a paired Student t "
    "interval; a delta whose interval contains 0 is not significant. For 0/1 metrics the exact "
    "McNemar p-value (two-sided binomial test on the discordant pairs) is shown too. Metrics without "
    "per-line values are shown without an interval."
)

_CONTINUED_FRACTION_STEPS = 500
_TINY = 1e-300


@dataclass(frozen=True)
class Estimate:
    """A mean with its interval; `note` says why there is no interval when there is none."""

    mean: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    method: str  # "wilson", "student-t" or "none"
    note: str = ""

    @property
    def has_interval(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None


@dataclass(frozen=True)
class PairedDelta:
    """Variant minus baseline over the lines both have."""

    mean: float | None
    n_pairs: int
    ci_low: float | None
    ci_high: float | None
    mcnemar_p: float | None  # only for 0/1 metrics
    note: str = ""

    @property
    def significant(self) -> bool:
        if self.ci_low is None or self.ci_high is None:
            return False
        return self.ci_low > 0 or self.ci_high < 0

    @property
    def verdict(self) -> str:
        """'better', 'worse' or 'not significant' (higher is taken as better)."""
        if not self.significant or self.mean is None:
            return "not significant"
        return "better" if self.mean > 0 else "worse"


def regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b) for a, b > 0 and 0 <= x <= 1."""
    if not (a > 0 and b > 0):
        raise ValueError(f"incomplete beta needs a > 0 and b > 0, got a={a!r}, b={b!r}")
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    # The continued fraction converges fast only on this side of the mean; use the symmetry otherwise.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function, modified Lentz's method."""
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, _CONTINUED_FRACTION_STEPS + 1):
        even = m * (b - m) * x / ((a - 1.0 + 2 * m) * (a + 2 * m))
        odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 1.0 + 2 * m))
        for coefficient in (even, odd):
            d = 1.0 + coefficient * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + coefficient / c
            c = c if abs(c) > _TINY else _TINY
            step = c * d
            result *= step
        if abs(step - 1.0) < 1e-15:
            break
    return result


def student_t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with `df` degrees of freedom."""
    tail = 0.5 * regularized_incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


@lru_cache(maxsize=1024)  # a report asks for the same few (p, df) pairs many times
def student_t_quantile(p: float, df: float) -> float:
    """The t with P(T <= t) = p, by bisection on x = df / (df + t^2) (I_x is monotone in x)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"t quantile needs 0 < p < 1, got p={p!r}")
    if df <= 0:
        raise ValueError(f"t quantile needs df > 0, got df={df!r}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -student_t_quantile(1.0 - p, df)
    two_sided_tail = 2.0 * (1.0 - p)
    low, high = 0.0, 1.0  # I_x grows from 0 to 1 with x, so the root is bracketed
    while True:
        middle = (low + high) / 2.0
        if middle in (low, high):
            break
        if regularized_incomplete_beta(df / 2.0, 0.5, middle) < two_sided_tail:
            low = middle
        else:
            high = middle
    x = (low + high) / 2.0
    return math.sqrt(df * (1.0 - x) / x)


def normal_quantile(p: float) -> float:
    return NormalDist().inv_cdf(p)


def is_binary(values: Sequence[float]) -> bool:
    """True when there is at least one value and every value is 0 or 1."""
    return bool(values) and all(v == 0.0 or v == 1.0 for v in values)


def present(values: Sequence[float | None]) -> list[float]:
    """The values that are there: None and NaN (a failed line) dropped."""
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def wilson_interval(successes: int, n: int, level: float = CONFIDENCE) -> tuple[float, float]:
    if n <= 0:
        raise ValueError(f"Wilson interval needs n > 0, got n={n!r}")
    z = normal_quantile(0.5 + level / 2.0)
    proportion = successes / n
    denominator = 1.0 + z * z / n
    centre = (proportion + z * z / (2 * n)) / denominator
    half_width = z / denominator * math.sqrt(proportion * (1 - proportion) / n + z * z / (4 * n * n))
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def t_interval(values: Sequence[float], level: float = CONFIDENCE) -> tuple[float, float]:
    n = len(values)
    if n < 2:
        raise ValueError(f"t interval needs at least 2 values, got {n}")
    mean = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half_width = student_t_quantile(0.5 + level / 2.0, n - 1) * sd / math.sqrt(n)
    return mean - half_width, mean + half_width


def estimate_mean(values: Sequence[float | None], level: float = CONFIDENCE) -> Estimate:
    """Mean of the present values with a Wilson (0/1 values) or Student t interval."""
    kept = present(values)
    n = len(kept)
    if n == 0:
        return Estimate(None, 0, None, None, "none", "no values")
    mean = math.fsum(kept) / n
    if is_binary(kept):
        low, high = wilson_interval(int(sum(kept)), n, level)
        return Estimate(mean, n, low, high, "wilson")
    if n < 2:
        return Estimate(mean, n, None, None, "none", "fewer than 2 values")
    low, high = t_interval(kept, level)
    return Estimate(mean, n, low, high, "student-t")


def mcnemar_exact_p(baseline_only: int, variant_only: int) -> float:
    """Two-sided exact McNemar p-value: binomial(b + c, 1/2) on the discordant counts b and c."""
    discordant = baseline_only + variant_only
    if discordant == 0:
        return 1.0
    smaller = min(baseline_only, variant_only)
    tail = sum(math.comb(discordant, k) for k in range(smaller + 1)) / (1 << discordant)
    return min(1.0, 2.0 * tail)


def paired_delta(
    baseline: Sequence[float | None], variant: Sequence[float | None], level: float = CONFIDENCE
) -> PairedDelta:
    """Variant minus baseline over positions where both values are present (sequences aligned)."""
    if len(baseline) != len(variant):
        raise ValueError(f"paired values must be aligned: {len(baseline)} baseline vs {len(variant)} variant")
    pairs = [
        (float(b), float(v))
        for b, v in zip(baseline, variant, strict=True)
        if b is not None and v is not None and math.isfinite(float(b)) and math.isfinite(float(v))
    ]
    n = len(pairs)
    if n == 0:
        return PairedDelta(None, 0, None, None, None, "no lines with values in both")
    differences = [v - b for b, v in pairs]
    mean = math.fsum(differences) / n
    mcnemar_p = None
    if is_binary([b for b, _ in pairs]) and is_binary([v for _, v in pairs]):
        baseline_only = sum(1 for b, v in pairs if b == 1.0 and v == 0.0)
        variant_only = sum(1 for b, v in pairs if b == 0.0 and v == 1.0)
        mcnemar_p = mcnemar_exact_p(baseline_only, variant_only)
    if n < 2:
        return PairedDelta(mean, n, None, None, mcnemar_p, "fewer than 2 paired lines")
    low, high = t_interval(differences, level)
    return PairedDelta(mean, n, low, high, mcnemar_p)
