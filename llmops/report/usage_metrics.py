"""Cost per line and latency percentiles of a run, from the gateway's accounting, with bootstrap intervals.

A run's calls come from the accounting table (one row per LLM call, tagged with the run). What a call cost and
how long it took upstream is what counts, so a call answered from the response cache counts with the cost and
latency its request had when it went upstream (the same request hash); a replayed call has no upstream figure and
counts for neither. Metrics (lower is better):

    cost_per_line   total cost of the run's calls / the run's lines
    latency_p50     median latency of a call (ms), linear interpolation between ranks
    latency_p95     95th percentile of a call's latency (ms)

Intervals resample lines when the accounting knows each call's line, and calls otherwise (the local engine tags a
call with its run, variant and node, not its line): a percentile bootstrap with a fixed seed, so a report made
twice shows the same figures. Against production the two runs are resampled independently (their calls are not
paired), and the statistic is the relative saving 1 - candidate / production.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from llmops.report.noninferiority import BootstrapContrast

COST_PER_LINE, LATENCY_P50, LATENCY_P95 = "cost_per_line", "latency_p50", "latency_p95"
REPLICATES = 4000
SEED = 15
CONFIDENCE = 0.95


@dataclass(frozen=True)
class CallFigure:
    """One LLM call of a run: its line when known, and its upstream cost and latency (None when unknown)."""

    line: int | None
    cost_usd: float | None
    latency_ms: float | None


@dataclass(frozen=True)
class RunCalls:
    """A run's calls and its number of lines."""

    lines: int
    calls: tuple[CallFigure, ...]

    def units(self) -> list[tuple[CallFigure, ...]]:
        """What a bootstrap resamples: the calls of each line when every call knows its line, else each call."""
        if self.calls and all(c.line is not None for c in self.calls):
            by_line: dict[int, list[CallFigure]] = {}
            for call in self.calls:
                by_line.setdefault(int(call.line or 0), []).append(call)
            return [tuple(calls) for _, calls in sorted(by_line.items())]
        return [(call,) for call in self.calls]


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


Statistic = Callable[[Sequence[tuple[CallFigure, ...]], RunCalls], float | None]


def _cost_per_line(units: Sequence[tuple[CallFigure, ...]], run: RunCalls) -> float | None:
    costs = [c.cost_usd for unit in units for c in unit if c.cost_usd is not None]
    if not costs or not run.lines:
        return None
    # Resampled calls stand for the run's calls: scale their mean cost by the run's calls per line.
    calls = sum(len(unit) for unit in units)
    return math.fsum(costs) / len(costs) * calls / run.lines


def _latency(share: float) -> Statistic:
    def statistic(units: Sequence[tuple[CallFigure, ...]], run: RunCalls) -> float | None:
        latencies = [c.latency_ms for unit in units for c in unit if c.latency_ms is not None]
        return percentile(latencies, share) if latencies else None

    return statistic


STATISTICS: dict[str, Statistic] = {COST_PER_LINE: _cost_per_line, LATENCY_P50: _latency(0.50),
                                    LATENCY_P95: _latency(0.95)}
NO_FIGURES = {
    COST_PER_LINE: "no call with a known cost (replayed calls have none)",
    LATENCY_P50: "no call timed upstream (replayed calls have no latency)",
    LATENCY_P95: "no call timed upstream (replayed calls have no latency)",
}


@dataclass(frozen=True)
class UsageEstimate:
    metric: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    calls: int
    note: str = ""


def _replicates(metric: str, run: RunCalls, rng: random.Random) -> list[float | None]:
    units = run.units()
    statistic = STATISTICS[metric]
    return [statistic([units[rng.randrange(len(units))] for _ in units], run) for _ in range(REPLICATES)]


def estimate(metric: str, run: RunCalls, level: float = CONFIDENCE) -> UsageEstimate:
    """The metric of one run with its percentile bootstrap interval."""
    value = STATISTICS[metric](run.units(), run)
    if value is None:
        return UsageEstimate(metric, None, None, None, len(run.calls), NO_FIGURES[metric])
    kept = [r for r in _replicates(metric, run, random.Random(SEED)) if r is not None]
    contrast = BootstrapContrast(value, tuple(kept))
    interval = contrast.interval(level)
    low, high = interval if interval else (None, None)
    return UsageEstimate(metric, value, low, high, len(run.calls))


def relative_saving(candidate: float, production: float) -> float:
    """1 - candidate / production: 0.1 is 10% cheaper or faster; both 0 is no change."""
    if production == 0.0:
        return 0.0 if candidate == 0.0 else -math.inf
    return 1.0 - candidate / production


def saving_contrast(metric: str, candidate: RunCalls, production: RunCalls) -> BootstrapContrast:
    """The candidate's relative saving against production, with bootstrap replicates resampling both runs."""
    statistic = STATISTICS[metric]
    cand, prod = statistic(candidate.units(), candidate), statistic(production.units(), production)
    if cand is None or prod is None:
        return BootstrapContrast(None, ())
    rng = random.Random(SEED)
    pairs = zip(_replicates(metric, candidate, rng), _replicates(metric, production, rng), strict=True)
    replicates = tuple(relative_saving(c, p) for c, p in pairs if c is not None and p is not None)
    return BootstrapContrast(relative_saving(cand, prod), replicates)
