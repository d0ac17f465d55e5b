"""Cohen's kappa: how far two raters (an LLM judge and a human) agree beyond the agreement chance alone gives.

    kappa = (p_o - p_e) / (1 - p_e)

p_o is the share of items both raters put in the same category; p_e the share expected by chance from each
rater's own category rates (the products of the table's margins). The 95% interval is kappa +- z * SE with the
large-sample standard error of Fleiss, Cohen & Everitt (1969, Psychological Bulletin 72, 323-327), the delta
method's variance of kappa when the raters do agree (not the smaller null variance used to test kappa = 0); it is
clipped to [-1, 1]. On 20 to 30 items that interval is approximate: it covered the true kappa in 89 to 93% of
simulated samples of 24 items, 93 to 95% of 100 items (benchmarks/judge_kappa_coverage.py). A table with perfect
agreement has SE 0, so its interval is the single point 1 (the note says so).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

Z_95 = 1.959963984540054
METHOD = ("Cohen's kappa with a 95% interval from the large-sample standard error of Fleiss, Cohen & Everitt "
          "(1969), clipped to [-1, 1]")


@dataclass(frozen=True)
class KappaEstimate:
    kappa: float | None  # None when chance agreement is 1 (both raters always gave one and the same category)
    ci_low: float | None
    ci_high: float | None
    standard_error: float | None
    observed_agreement: float  # p_o, the raw agreement
    expected_agreement: float  # p_e
    n: int
    categories: tuple[str, ...]
    note: str = ""


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable], z: float = Z_95) -> KappaEstimate:
    """Kappa of two raters' categories for the same items (first[i] and second[i] rate item i)."""
    if len(first) != len(second):
        raise ValueError(f"the raters rated {len(first)} and {len(second)} items; kappa needs the same items")
    n = len(first)
    categories = tuple(sorted({str(c) for c in (*first, *second)}))
    if n == 0:
        return KappaEstimate(None, None, None, None, math.nan, math.nan, 0, (), "no item was rated by both")
    index = {c: i for i, c in enumerate(categories)}
    k = len(categories)
    table = [[0.0] * k for _ in range(k)]
    for a, b in zip(first, second, strict=True):
        table[index[str(a)]][index[str(b)]] += 1.0 / n
    return kappa_of_table(table, n, categories, z)


def kappa_of_table(table: Sequence[Sequence[float]], n: int, categories: tuple[str, ...] = (),
                   z: float = Z_95) -> KappaEstimate:
    """Kappa of a k x k table of proportions (rows: the first rater, columns: the second) over n items."""
    k = len(table)
    rows = [sum(table[i]) for i in range(k)]
    cols = [sum(table[i][j] for i in range(k)) for j in range(k)]
    p_o = sum(table[i][i] for i in range(k))
    p_e = sum(rows[i] * cols[i] for i in range(k))
    if math.isclose(p_e, 1.0):
        return KappaEstimate(None, None, None, None, p_o, p_e, n, categories,
                             "kappa is undefined: both raters gave every item the same single category")
    kappa = (p_o - p_e) / (1 - p_e)
    se = _standard_error(table, rows, cols, kappa, p_e, n)
    low, high = max(-1.0, kappa - z * se), min(1.0, kappa + z * se)
    note = "perfect agreement: the interval has no width at this sample size" if se == 0 else ""
    return KappaEstimate(kappa, low, high, se, p_o, p_e, n, categories, note)


def _standard_error(table: Sequence[Sequence[float]], rows: list[float], cols: list[float], kappa: float,
                    p_e: float, n: int) -> float:
    """Fleiss, Cohen & Everitt (1969), equation (13): the variance of kappa when it is not 0."""
    k = len(table)
    on_diagonal = sum(table[i][i] * (1 - (rows[i] + cols[i]) * (1 - kappa)) ** 2 for i in range(k))
    off_diagonal = (1 - kappa) ** 2 * sum(table[i][j] * (cols[i] + rows[j]) ** 2
                                          for i in range(k) for j in range(k) if i != j)
    correction = (kappa - p_e * (1 - kappa)) ** 2
    variance = (on_diagonal + off_diagonal - correction) / (n * (1 - p_e) ** 2)
    return math.sqrt(max(variance, 0.0))  # rounding can leave -1e-17 where the variance is 0
