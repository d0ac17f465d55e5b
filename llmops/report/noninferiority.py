"""Verdicts of a candidate against production, with Holm's correction across every gate checked at once.

Each check estimates an improvement, candidate against production, where positive is better: the paired
difference of a quality metric (candidate - production, per line), or the relative saving of a cost or latency
metric (1 - candidate / production). With `margin` the worst improvement still acceptable (as -margin):

    better        lower bound > 0
    worse         upper bound < -margin
    non-inferior  lower bound > -margin
    inconclusive  otherwise

read from a two-sided interval at level 1 - 2 * alpha_k. The check that ships a regression by mistake is
"non-inferior" (or "better") when the truth is -margin or worse: its one-sided test, H0: improvement <= -margin,
has level alpha_k, and Holm's step-down procedure sets alpha_k across the m checks of a report so that the chance
of any such mistake stays at most ALPHA (2.5%, one-sided: with one check, the 95% interval of every other
report). Sorted by their p-values p_(1) <= ... <= p_(m), check k gets alpha / (m - k + 1); once one check is not
rejected, the later ones are not either (their verdict cannot be non-inferior or better, whatever their
interval says). "worse" is read from the same interval and needs no such stop: it only ever blocks a release.

A paired contrast uses Student's t on the per-line differences; a bootstrap contrast (cost and latency) uses the
percentile interval and the share of replicates at or below -margin as its p-value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from llmops.report.stats import student_t_cdf, student_t_quantile

ALPHA = 0.025  # one-sided: the error of a "non-inferior" verdict when production is better by the margin
BETTER, NON_INFERIOR, INCONCLUSIVE, WORSE = "better", "non-inferior", "inconclusive", "worse"

METHOD_NOTE = (
    "Against production: each check estimates the candidate's improvement over the production model on the same "
    "lines (quality: mean paired difference per line, a paired Student t interval; cost and latency: relative "
    "saving 1 - candidate/production, a percentile bootstrap interval over lines). Verdicts: better (lower bound "
    "> 0), worse (upper bound < -margin), non-inferior (lower bound > -margin), else inconclusive. Holm's "
    "step-down correction across all checks keeps the chance of any false non-inferior at 2.5%; each interval "
    "is shown at its adjusted level."
)


class Contrast(Protocol):
    """An estimated improvement (positive is better) that gives a one-sided p-value and an interval."""

    @property
    def estimate(self) -> float | None: ...

    def p_value(self, bound: float) -> float:
        """The p-value of H0: improvement <= bound (small when the improvement is surely above it)."""
        ...

    def interval(self, level: float) -> tuple[float, float] | None:
        """The two-sided interval at `level`; None when there is none (too few values)."""
        ...


@dataclass(frozen=True)
class PairedContrast:
    """Mean per-line difference, candidate - production, over the lines both have."""

    differences: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.differences)

    @property
    def estimate(self) -> float | None:
        return math.fsum(self.differences) / self.n if self.differences else None

    def _spread(self) -> tuple[float, float] | None:
        """(mean, standard error); None with fewer than 2 lines."""
        if self.n < 2:
            return None
        mean = math.fsum(self.differences) / self.n
        sd = math.sqrt(math.fsum((d - mean) ** 2 for d in self.differences) / (self.n - 1))
        return mean, sd / math.sqrt(self.n)

    def p_value(self, bound: float) -> float:
        spread = self._spread()
        if spread is None:
            return 1.0
        mean, se = spread
        if se == 0.0:  # every line moved by the same amount: the difference is known exactly
            return 0.0 if mean > bound else 1.0
        return 1.0 - student_t_cdf((mean - bound) / se, self.n - 1)

    def interval(self, level: float) -> tuple[float, float] | None:
        spread = self._spread()
        if spread is None:
            return None
        mean, se = spread
        half = student_t_quantile(0.5 + level / 2.0, self.n - 1) * se if se > 0 else 0.0
        return mean - half, mean + half


@dataclass(frozen=True)
class BootstrapContrast:
    """A statistic's point estimate and its bootstrap replicates (any order)."""

    point: float | None
    replicates: tuple[float, ...]

    @property
    def estimate(self) -> float | None:
        return self.point

    def p_value(self, bound: float) -> float:
        if self.point is None or not self.replicates:
            return 1.0
        at_or_below = sum(1 for r in self.replicates if r <= bound)
        return (at_or_below + 1) / (len(self.replicates) + 1)

    def interval(self, level: float) -> tuple[float, float] | None:
        if self.point is None or not self.replicates:
            return None
        ordered = sorted(self.replicates)
        tail = (1.0 - level) / 2.0
        return _quantile(ordered, tail), _quantile(ordered, 1.0 - tail)


def _quantile(ordered: Sequence[float], share: float) -> float:
    position = (len(ordered) - 1) * share
    low = int(math.floor(position))
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def verdict(low: float, high: float, margin: float) -> str:
    """The verdict an interval of the improvement gives (see the module's table)."""
    if low > 0:
        return BETTER
    if high < -margin:
        return WORSE
    if low > -margin:
        return NON_INFERIOR
    return INCONCLUSIVE


@dataclass(frozen=True)
class HolmStep:
    alpha: float  # the one-sided level this check is tested at
    adjusted_p: float  # Holm-adjusted p-value of H0: improvement <= -margin
    rejected: bool  # H0 rejected: the check may be non-inferior or better


def holm(p_values: Sequence[float], alpha: float = ALPHA) -> list[HolmStep]:
    """Holm's step-down procedure, in the order the p-values were given."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    steps: list[HolmStep | None] = [None] * m
    running_max, still_rejecting = 0.0, True
    for rank, index in enumerate(order):
        level = alpha / (m - rank)
        running_max = max(running_max, min(1.0, (m - rank) * p_values[index]))
        still_rejecting = still_rejecting and p_values[index] <= level
        steps[index] = HolmStep(level, running_max, still_rejecting)
    return [s for s in steps if s is not None]


@dataclass(frozen=True)
class Decision:
    estimate: float | None
    low: float | None
    high: float | None
    level: float  # confidence level of [low, high]: 1 - 2 * alpha_k
    adjusted_p: float
    verdict: str
    note: str = ""


def decide(contrasts: Sequence[Contrast], margins: Sequence[float], alpha: float = ALPHA) -> list[Decision]:
    """One decision per contrast, Holm-corrected across all of them."""
    if len(contrasts) != len(margins):
        raise ValueError(f"one margin per contrast: {len(contrasts)} contrasts, {len(margins)} margins")
    steps = holm([c.p_value(-margin) for c, margin in zip(contrasts, margins, strict=True)], alpha)
    decisions = []
    for contrast, margin, step in zip(contrasts, margins, steps, strict=True):
        level = 1.0 - 2.0 * step.alpha
        interval = contrast.interval(level)
        if interval is None:
            decisions.append(Decision(contrast.estimate, None, None, level, step.adjusted_p, INCONCLUSIVE,
                                      "too few lines for an interval"))
            continue
        low, high = interval
        found, note = verdict(low, high, margin), ""
        if found in (BETTER, NON_INFERIOR) and not step.rejected:
            found, note = INCONCLUSIVE, f"not significant after Holm's correction (adjusted p {step.adjusted_p:.4f})"
        decisions.append(Decision(contrast.estimate, low, high, level, step.adjusted_p, found, note))
    return decisions
