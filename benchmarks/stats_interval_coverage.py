"""Monte Carlo proof that the report's repeated-trials intervals cover about 95% of the time.

Synthetic 0/1 results with known line effects and a known true mean, drawn many times per setting:

1. One variant's mean. Each line's pass probability p_i ~ Beta with mean MU and intra-class correlation ICC
   (alpha = MU (1/ICC - 1), beta = (1 - MU)(1/ICC - 1); ICC 0: every p_i = MU), then TRIALS Bernoulli(p_i) trials
   per line. The true mean is MU. Compared:
     clustered  llmops.report.clustered_intervals.clustered_estimate, what the report uses with TRIALS > 1
                (Wilson on the effective sample size N / design effect)
     naive      a Wilson interval counting every trial as an independent line (what ignoring clustering gives)
2. A variant against the baseline on the same lines. Line difficulty u_i ~ N(0, 1) shared by both and a
   variant-only line effect v_i ~ N(0, 0.5^2): baseline p_i = PHI(A + u_i), variant p_i = PHI(A + D + u_i + v_i).
   True difference = PHI((A + D) / sqrt(2.25)) - PHI(A / sqrt(2)) (the probit-normal identity). Compared:
     line means  stats.paired_delta over each line's mean over its trials, what the report does
     naive       stats.paired_delta over (line, trial) pairs, as if every trial were a line of its own

Coverage is the share of draws whose 95% interval holds the true value (Monte Carlo error about +/-1 point at
2,000 draws); width is the mean interval width. Pure Python, seeded: the same figures on every run.

Measured (2,000 draws, seed 15, 50 s on 2 busy cores): the clustered interval covered 93.6-95.7% in all 7 mean
settings, the naive one 71.8-83.5% once ICC > 0 (92.7% at ICC 0, where there is nothing to correct); the
line-means paired interval covered 94.5-95.4% in all 5 settings, the naive per-trial one 88.5-93.6%.

    .venv/bin/python benchmarks/stats_interval_coverage.py [--draws 2000] [--seed 15]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmops.report.clustered_intervals import clustered_estimate, line_means  # noqa: E402
from llmops.report.stats import paired_delta, wilson_interval  # noqa: E402

PHI = NormalDist().cdf
VARIANT_LINE_SD = 0.5  # the variant-only line effect's standard deviation in the paired setting


@dataclass(frozen=True)
class MeanSetting:
    lines: int
    trials: int
    icc: float
    mu: float


@dataclass(frozen=True)
class PairedSetting:
    lines: int
    trials: int
    a: float  # the baseline's probit intercept
    d: float  # the variant's shift on the probit scale


MEAN_SETTINGS = [
    MeanSetting(10, 3, 0.0, 0.7),
    MeanSetting(10, 3, 0.3, 0.7),
    MeanSetting(10, 3, 0.7, 0.7),
    MeanSetting(30, 5, 0.3, 0.8),
    MeanSetting(30, 5, 0.7, 0.5),
    MeanSetting(100, 3, 0.5, 0.6),
    MeanSetting(100, 10, 0.2, 0.9),
]
PAIRED_SETTINGS = [
    PairedSetting(10, 3, 0.5, 0.0),
    PairedSetting(10, 3, 0.5, 0.4),
    PairedSetting(30, 5, 0.5, 0.3),
    PairedSetting(100, 3, 0.8, -0.3),
    PairedSetting(100, 10, 0.5, 0.2),
]


@dataclass
class Tally:
    covered: int = 0
    width: float = 0.0
    draws: int = 0

    def add(self, low: float | None, high: float | None, truth: float) -> None:
        self.draws += 1
        if low is None or high is None:
            return  # no interval counts as not covering
        self.covered += low <= truth <= high
        self.width += high - low

    def text(self) -> str:
        return f"{100 * self.covered / self.draws:5.1f}%  {self.width / self.draws:5.3f}"


def line_probabilities(rng: random.Random, setting: MeanSetting) -> list[float]:
    if setting.icc == 0:
        return [setting.mu] * setting.lines
    scale = 1 / setting.icc - 1
    return [rng.betavariate(setting.mu * scale, (1 - setting.mu) * scale) for _ in range(setting.lines)]


def trials_of(rng: random.Random, probabilities: list[float], trials: int) -> tuple[list[int], list[float]]:
    lines = [i for i in range(len(probabilities)) for _ in range(trials)]
    values = [1.0 if rng.random() < p else 0.0 for p in probabilities for _ in range(trials)]
    return lines, values


def mean_coverage(rng: random.Random, setting: MeanSetting, draws: int) -> tuple[Tally, Tally]:
    clustered, naive = Tally(), Tally()
    for _ in range(draws):
        lines, values = trials_of(rng, line_probabilities(rng, setting), setting.trials)
        estimate = clustered_estimate(lines, values)
        clustered.add(estimate.ci_low, estimate.ci_high, setting.mu)
        naive.add(*wilson_interval(int(sum(values)), len(values)), setting.mu)
    return clustered, naive


def paired_truth(setting: PairedSetting) -> float:
    return PHI((setting.a + setting.d) / math.sqrt(1 + 1 + VARIANT_LINE_SD**2)) - PHI(setting.a / math.sqrt(2))


def paired_coverage(rng: random.Random, setting: PairedSetting, draws: int) -> tuple[Tally, Tally]:
    by_line, naive = Tally(), Tally()
    truth = paired_truth(setting)
    for _ in range(draws):
        shared = [rng.gauss(0, 1) for _ in range(setting.lines)]
        baseline_p = [PHI(setting.a + u) for u in shared]
        variant_p = [PHI(setting.a + setting.d + u + rng.gauss(0, VARIANT_LINE_SD)) for u in shared]
        lines, baseline = trials_of(rng, baseline_p, setting.trials)
        _, variant = trials_of(rng, variant_p, setting.trials)
        base_means, variant_means = line_means(lines, baseline), line_means(lines, variant)
        delta = paired_delta([base_means[i] for i in range(setting.lines)],
                             [variant_means[i] for i in range(setting.lines)])
        by_line.add(delta.ci_low, delta.ci_high, truth)
        flat = paired_delta(baseline, variant)
        naive.add(flat.ci_low, flat.ci_high, truth)
    return by_line, naive


def timed(work: Callable[[], tuple[Tally, Tally]]) -> tuple[Tally, Tally, float]:
    started = time.perf_counter()
    first, second = work()
    return first, second, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=2000, help="simulated experiments per setting")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.perf_counter()

    print(f"1. A variant's mean over repeated trials: 95% interval coverage of the true mean ({args.draws} draws each)")
    print(f"{'lines':>5} {'trials':>6} {'ICC':>4} {'mean':>5} | {'clustered: cover  width':>24} | "
          f"{'naive: cover  width':>20} | {'s':>4}")
    for setting in MEAN_SETTINGS:
        clustered, naive, seconds = timed(lambda s=setting: mean_coverage(rng, s, args.draws))
        print(f"{setting.lines:>5} {setting.trials:>6} {setting.icc:>4.1f} {setting.mu:>5.2f} | "
              f"{clustered.text():>24} | {naive.text():>20} | {seconds:4.1f}")

    print()
    print(f"2. Variant minus baseline on the same lines: 95% interval coverage of the true difference "
          f"({args.draws} draws each)")
    print(f"{'lines':>5} {'trials':>6} {'A':>4} {'D':>5} {'true Δ':>7} | {'line means: cover  width':>25} | "
          f"{'naive: cover  width':>20} | {'s':>4}")
    for paired in PAIRED_SETTINGS:
        by_line, flat, seconds = timed(lambda s=paired: paired_coverage(rng, s, args.draws))
        print(f"{paired.lines:>5} {paired.trials:>6} {paired.a:>4.1f} {paired.d:>5.1f} {paired_truth(paired):>+7.3f} | "
              f"{by_line.text():>25} | {flat.text():>20} | {seconds:4.1f}")
    print(f"\ntotal {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
