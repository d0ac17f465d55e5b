"""Monte Carlo: how often the report's 95% interval for a judge's Cohen's kappa covers the true kappa.

Two raters of a 0/1 verdict, both saying 1 with probability `prevalence`, agree beyond chance by a known kappa:
the population table is p11 = pi^2 + k pi (1 - pi), p00 = (1 - pi)^2 + k pi (1 - pi), p10 = p01 = pi (1 - pi)(1 - k).
Each trial draws n items from it, computes the interval exactly as the report does (llmops/report/kappa.py) and
checks whether it holds k. Samples whose kappa is undefined (one rater used one category only) are counted apart.

    .venv/bin/python benchmarks/judge_kappa_coverage.py [--trials 4000] [--seed 15]
"""

from __future__ import annotations

import argparse
import random

from llmops.report.kappa import cohen_kappa


def table(prevalence: float, kappa: float) -> list[tuple[tuple[int, int], float]]:
    spread = prevalence * (1 - prevalence)
    return [((1, 1), prevalence ** 2 + kappa * spread), ((0, 0), (1 - prevalence) ** 2 + kappa * spread),
            ((1, 0), spread * (1 - kappa)), ((0, 1), spread * (1 - kappa))]


def coverage(n: int, prevalence: float, kappa: float, trials: int, rng: random.Random) -> tuple[float, int, float]:
    """(share of defined intervals holding kappa, trials with kappa undefined, mean interval width)."""
    cells = table(prevalence, kappa)
    pairs, weights = [c for c, _ in cells], [w for _, w in cells]
    covered = undefined = 0
    widths = 0.0
    for _ in range(trials):
        drawn = rng.choices(pairs, weights, k=n)
        estimate = cohen_kappa([a for a, _ in drawn], [b for _, b in drawn])
        if estimate.kappa is None or estimate.ci_low is None or estimate.ci_high is None:
            undefined += 1
            continue
        covered += estimate.ci_low <= kappa <= estimate.ci_high
        widths += estimate.ci_high - estimate.ci_low
    defined = trials - undefined
    return (covered / defined if defined else float("nan")), undefined, (widths / defined if defined else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"{args.trials} trials per row; nominal coverage 0.950")
    print(f"{'n':>5} {'prevalence':>10} {'kappa':>6} {'coverage':>9} {'undefined':>9} {'mean width':>10}")
    for n in (24, 50, 100, 400):
        for prevalence, kappa in ((0.5, 0.6), (0.5, 0.8), (0.3, 0.6), (0.5, 0.0)):
            share, undefined, width = coverage(n, prevalence, kappa, args.trials, rng)
            print(f"{n:>5} {prevalence:>10.2f} {kappa:>6.2f} {share:>9.3f} {undefined:>9} {width:>10.3f}")


if __name__ == "__main__":
    main()
