"""pass@k and pass^k over repeated trials of 0/1 metrics, per-line pass rates and flaky lines.

For a line with n trials of which c passed:
- pass@k, the chance that at least one of k trials drawn from the n passes: 1 - C(n - c, k) / C(n, k), the
  unbiased estimator of Chen et al. (2021, "Evaluating Large Language Models Trained on Code"); with k = n it
  is 1 when any trial passed.
- pass^k, the chance that all k drawn trials pass: C(c, k) / C(n, k), unbiased for p^k likewise (Yao et al.
  2024, tau-bench); with k = n it is 1 when every trial passed.
Both are averaged over the lines with at least k trials (lines whose other trials failed to run are left
out), and given a 95% interval over the lines (each line one value: lines are independent, trials are not).
A line is flaky when its verdict flips across trials: 0 < c < n.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from llmops.report.clustered_intervals import line_groups
from llmops.report.stats import Estimate, estimate_mean


@dataclass(frozen=True)
class LineTrials:
    """One line's trials of a 0/1 metric."""

    line: int  # the dataset line index
    trials: int  # trials with a value
    passes: int

    @property
    def pass_rate(self) -> float:
        return self.passes / self.trials

    @property
    def flaky(self) -> bool:
        return 0 < self.passes < self.trials


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one line: n trials, c passed, 1 <= k <= n."""
    _check(n, c, k)
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Unbiased pass^k of one line: the chance that k trials drawn without replacement from n all pass."""
    _check(n, c, k)
    return math.comb(c, k) / math.comb(n, k)


def _check(n: int, c: int, k: int) -> None:
    if not (0 <= c <= n and 1 <= k <= n):
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")


def line_trials(lines: Sequence[int], values: Sequence[float | None]) -> list[LineTrials]:
    """Per line, its trials with a value and how many passed (value 1), in first-seen line order."""
    return [LineTrials(line, len(kept), sum(1 for v in kept if v == 1.0))
            for line, kept in line_groups(lines, values).items()]


def mean_pass_at_k(lines: Sequence[LineTrials], k: int) -> Estimate:
    """pass@k over the lines with at least k trials, with a 95% interval over those lines."""
    return _probability(estimate_mean([pass_at_k(t.trials, t.passes, k) for t in lines if t.trials >= k]))


def mean_pass_hat_k(lines: Sequence[LineTrials], k: int) -> Estimate:
    """pass^k over the lines with at least k trials, with a 95% interval over those lines."""
    return _probability(estimate_mean([pass_hat_k(t.trials, t.passes, k) for t in lines if t.trials >= k]))


def _probability(estimate: Estimate) -> Estimate:
    """A Student t interval on per-line shares can reach past 0 or 1; a probability cannot, so it is cut there
    (the true value lies inside [0, 1], so cutting never loses coverage)."""
    if estimate.ci_low is None or estimate.ci_high is None:
        return estimate
    return replace(estimate, ci_low=max(0.0, estimate.ci_low), ci_high=min(1.0, estimate.ci_high))
