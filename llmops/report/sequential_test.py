"""A sequential test of a canary against the live deployment that stays valid when checked after every request.

Each judged request gives one paired outcome d in [-1, 1]: +1 the canary's answer is better, -1 worse, 0 a tie
(or a difference of scores scaled into [-1, 1]). The quantity tested is delta = E[d] = P(win) - P(loss); with
0/1 scores it is the canary's accuracy minus the live deployment's.

A fixed-sample test looked at after every request rejects a true null far more often than its alpha (optional
stopping; benchmarks/sequential_false_rollback.py shows it). These tests are e-processes built by betting
(Shafer 2021; Waudby-Smith and Ramdas 2023, "Estimating means of bounded random variables by betting"):
to test H0: delta >= mu0 ("not worse"), a gambler starts with wealth 1 and stakes a fraction lam of it on each
outcome, ending with wealth * (1 + lam * (mu0 - d)). Under H0 the expected factor is at most 1 whatever lam is,
so the wealth is a non-negative supermartingale, and by Ville's inequality it ever reaches 1/alpha with
probability at most alpha: rejecting H0 as soon as it does is valid under continuous monitoring. Averaging
the wealth of several gamblers (a fixed grid of fractions, uniform weights) is again such a supermartingale:
a mixture, so no one fraction has to be tuned. The always-valid p-value is 1 / (the highest wealth so far).

Three one-sided tests run on the same outcomes, each at level alpha:
- worse:         H0 delta >= 0      rejected -> the canary is significantly worse (roll back);
- non-inferior:  H0 delta <= -margin rejected -> the canary is within the margin of the live deployment;
- better:        H0 delta <= 0      rejected -> the canary is significantly better.
Each verdict uses the highest wealth so far: once rejected, a null stays rejected (that is what the guarantee
is about), so a verdict never flips back because later outcomes regress.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

# Fractions of the largest stake that cannot lose everything; the mixture's gamblers. Small ones win slowly on
# weak evidence, large ones fast on strong evidence (or a long run of ties in a non-inferiority test).
BET_FRACTIONS = (0.05, 0.1, 0.2, 0.4, 0.6, 0.8)

WORSE, NON_INFERIOR, BETTER, INCONCLUSIVE = "worse", "non-inferior", "better", "inconclusive"

METHOD_NOTE = ("Sequential test by betting (an e-process, valid when checked after every request): each judged "
               "request gives +1 (canary better), -1 (worse) or 0 (tie); a mixture of betting martingales over "
               f"stakes {', '.join(str(f) for f in BET_FRACTIONS)} of the largest safe stake tests delta = "
               "P(win) - P(loss); a null is rejected when the mixture's wealth reaches 1/alpha (Ville's inequality).")


def _check_outcome(value: float) -> float:
    if not -1.0 <= value <= 1.0 or math.isnan(value):
        raise ValueError(f"a paired outcome must be in [-1, 1], got {value!r}")
    return value


@dataclass(frozen=True)
class BettingTest:
    """One one-sided test: H0 delta >= null (`against_higher`: bet that outcomes fall below null) or H0 delta <=
    null (bet that they rise above it). `wealth` is the mixture's current wealth, `peak` its highest so far."""

    null: float
    against_higher: bool
    wealths: tuple[float, ...] = tuple(1.0 for _ in BET_FRACTIONS)
    peak: float = 1.0

    @property
    def max_stake(self) -> float:
        """The largest stake for which every factor stays >= 0 over d in [-1, 1]."""
        return 1.0 / (1.0 - self.null) if self.against_higher else 1.0 / (1.0 + self.null)

    def factor(self, fraction: float, outcome: float) -> float:
        stake = fraction * self.max_stake
        edge = self.null - outcome if self.against_higher else outcome - self.null
        return 1.0 + stake * edge

    @property
    def wealth(self) -> float:
        return math.fsum(self.wealths) / len(self.wealths)

    def update(self, outcome: float) -> BettingTest:
        value = _check_outcome(outcome)
        wealths = tuple(w * self.factor(f, value) for w, f in zip(self.wealths, BET_FRACTIONS, strict=True))
        mixed = math.fsum(wealths) / len(wealths)
        return BettingTest(self.null, self.against_higher, wealths, max(self.peak, mixed))

    @property
    def p_value(self) -> float:
        """The always-valid p-value: 1 / the highest wealth so far (at most 1)."""
        return min(1.0, 1.0 / self.peak)

    def rejected(self, alpha: float) -> bool:
        return self.peak >= 1.0 / alpha


def run_test(outcomes: Sequence[float], null: float, against_higher: bool) -> BettingTest:
    test = BettingTest(null, against_higher)
    for outcome in outcomes:
        test = test.update(outcome)
    return test


@dataclass(frozen=True)
class Evidence:
    """What a decision rests on: the counts, the estimate and the three tests' statistics."""

    n: int
    wins: int
    losses: int
    ties: int
    mean: float | None  # the estimate of delta; None before the first outcome
    alpha: float
    margin: float
    worse_e: float  # highest mixture wealth of the "worse" test
    non_inferior_e: float
    better_e: float
    verdict: str  # worse, better, non-inferior or inconclusive

    @property
    def threshold(self) -> float:
        return 1.0 / self.alpha

    @property
    def worse_p(self) -> float:
        return min(1.0, 1.0 / self.worse_e)

    @property
    def non_inferior_p(self) -> float:
        return min(1.0, 1.0 / self.non_inferior_e)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "threshold": self.threshold, "worse_p": self.worse_p,
                "non_inferior_p": self.non_inferior_p}

    def describe(self) -> str:
        mean = "n/a" if self.mean is None else f"{self.mean:+.3f}"
        return (f"n={self.n} (wins {self.wins}, losses {self.losses}, ties {self.ties}), delta {mean}; "
                f"e-values: worse {self.worse_e:.3g}, non-inferior (margin {self.margin:g}) "
                f"{self.non_inferior_e:.3g}, threshold 1/alpha = {self.threshold:g}")


def evidence(outcomes: Sequence[float], alpha: float, margin: float) -> Evidence:
    """The three tests over `outcomes` (in the order they were observed) at level `alpha` each."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    if not 0.0 <= margin < 1.0:
        raise ValueError(f"margin must be in [0, 1), got {margin!r}")
    values = [_check_outcome(float(o)) for o in outcomes]
    worse = run_test(values, 0.0, against_higher=True)
    non_inferior = run_test(values, -margin, against_higher=False)
    better = run_test(values, 0.0, against_higher=False)
    if worse.rejected(alpha):
        verdict = WORSE
    elif better.rejected(alpha):
        verdict = BETTER
    elif non_inferior.rejected(alpha):
        verdict = NON_INFERIOR
    else:
        verdict = INCONCLUSIVE
    wins = sum(1 for v in values if v > 0)
    losses = sum(1 for v in values if v < 0)
    mean = math.fsum(values) / len(values) if values else None
    return Evidence(len(values), wins, losses, len(values) - wins - losses, mean, alpha, margin, worse.peak,
                    non_inferior.peak, better.peak, verdict)
