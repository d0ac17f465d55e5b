"""Monte Carlo proof of the gate against production (llmops/report/noninferiority.py): how often each verdict is
given when the true difference is known, and Holm's familywise error across several checks.

Synthetic paired data: for each line, candidate - production. Two kinds of metric:
  * continuous: per-line differences ~ Normal(truth, 0.25), as a score's differences are;
  * 0/1: production right with p = 0.75 per line; the candidate agrees with production on most lines and flips
    a few either way, so that the mean difference is the truth (what a paired accuracy looks like).
For each truth (0, +margin, -margin, -2 margin) it prints the share of each verdict. "non-inferior" (or "better")
when the truth is exactly -margin is the type I error of the release decision: it should be at most 2.5% (the
one-sided level of a 95% interval). Elsewhere the share of "non-inferior or better" is the power.

Then m checks at once, each with truth exactly -margin (the worst case for the family): the share of experiments
in which ANY check is called non-inferior or better, with Holm's correction and without it (each check at its own
95% interval). Holm keeps it at or below 2.5%; without it, it grows with m.

    .venv/bin/python benchmarks/noninferiority_error_rates.py [--reps 4000] [--lines 60]
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from collections.abc import Callable

from llmops.report.noninferiority import BETTER, INCONCLUSIVE, NON_INFERIOR, WORSE, PairedContrast, decide, verdict

MARGIN = 0.05
VERDICTS = (BETTER, NON_INFERIOR, INCONCLUSIVE, WORSE)


def continuous(rng: random.Random, truth: float, lines: int) -> PairedContrast:
    return PairedContrast(tuple(rng.gauss(truth, 0.25) for _ in range(lines)))


def binary(rng: random.Random, truth: float, lines: int) -> PairedContrast:
    """Candidate 0/1 beside production 0/1: a line flips from right to wrong with probability `down`, from wrong to
    right with `up`, so that E[candidate - production] = 0.25 up - 0.75 down = truth."""
    base_flip = 0.08
    down = base_flip + max(0.0, -truth) / 0.75
    up = (truth + 0.75 * down) / 0.25
    differences = []
    for _ in range(lines):
        production = 1.0 if rng.random() < 0.75 else 0.0
        flip = rng.random() < (down if production else up)
        candidate = 1.0 - production if flip else production
        differences.append(candidate - production)
    return PairedContrast(tuple(differences))


def verdict_rates(make: Callable[[random.Random, float, int], PairedContrast], truth: float, reps: int,
                  lines: int, seed: int) -> Counter[str]:
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    for _ in range(reps):
        (decision,) = decide([make(rng, truth, lines)], [MARGIN])
        counts[decision.verdict] += 1
    return counts


def familywise(m: int, reps: int, lines: int, seed: int) -> tuple[float, float]:
    """(share with any false non-inferior under Holm, the same with each check at its own 95% interval)."""
    rng = random.Random(seed)
    holm_errors = plain_errors = 0
    for _ in range(reps):
        contrasts = [continuous(rng, -MARGIN, lines) for _ in range(m)]
        decisions = decide(contrasts, [MARGIN] * m)
        holm_errors += any(d.verdict in (BETTER, NON_INFERIOR) for d in decisions)
        plain = []
        for contrast in contrasts:
            low, high = contrast.interval(0.95) or (0.0, 0.0)
            plain.append(verdict(low, high, MARGIN))
        plain_errors += any(v in (BETTER, NON_INFERIOR) for v in plain)
    return holm_errors / reps, plain_errors / reps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=4000)
    parser.add_argument("--lines", type=int, default=60)
    args = parser.parse_args()
    started = time.perf_counter()
    truths = [("0", 0.0), ("+margin", MARGIN), ("-margin", -MARGIN), ("-2 margin", -2 * MARGIN)]
    for name, make in (("continuous (sd 0.25)", continuous), ("0/1 accuracy (p 0.75)", binary)):
        print(f"\n{name}: {args.lines} paired lines, margin {MARGIN}, {args.reps} experiments per truth")
        print(f"{'truth':>10} | " + " | ".join(f"{v:>12}" for v in VERDICTS) + " | non-inf or better")
        for seed, (label, truth) in enumerate(truths, start=1):
            counts = verdict_rates(make, truth, args.reps, args.lines, seed=seed)
            rates = [counts[v] / args.reps for v in VERDICTS]
            passing = rates[0] + rates[1]
            tag = "  <- type I error (should be <= 0.025)" if label == "-margin" else (
                "  <- power" if truth >= 0 else "")
            print(f"{label:>10} | " + " | ".join(f"{r:>12.3f}" for r in rates) + f" | {passing:.3f}{tag}")
    print(f"\nfamilywise: every one of m checks has truth -margin (continuous, {args.lines} lines); share of "
          f"experiments with ANY check called non-inferior or better ({args.reps // 2} experiments)")
    print(f"{'m':>3} | {'Holm':>6} | {'no correction':>13}")
    for m in (1, 2, 4, 8):
        holm_rate, plain_rate = familywise(m, args.reps // 2, args.lines, seed=m)
        print(f"{m:>3} | {holm_rate:>6.3f} | {plain_rate:>13.3f}")
    print(f"\n{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
