"""Monte Carlo proof of the canary's sequential test (llmops/report/sequential_test.py), checked after every request.

1. Streams with no true difference (P(win) = P(loss)): the share of streams the "worse" test ever rolls back
   within the horizon stays at or below alpha; a naive fixed-sample test (one-sided z test on the mean
   outcome, as if n were fixed) repeated after every request from the 10th on rolls back far more often.
2. Streams with a real effect: how many requests it takes to roll back a worse canary and to find an
   equivalent one non-inferior (the margin's test), and how often each decision is reached within the horizon.

    .venv/bin/python benchmarks/sequential_false_rollback.py [--streams 1000] [--horizon 400] [--seed 1]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time
from collections.abc import Callable
from statistics import NormalDist

from llmops.report.sequential_test import BettingTest

ALPHA = 0.05
MARGIN = 0.1
NAIVE_FIRST_LOOK = 10


def stream(rng: random.Random, p_win: float, p_loss: float, horizon: int) -> list[int]:
    out = []
    for _ in range(horizon):
        u = rng.random()
        out.append(1 if u < p_win else -1 if u < p_win + p_loss else 0)
    return out


def first_crossing(outcomes: list[int], test: BettingTest, alpha: float) -> int | None:
    """The request count at which the test first rejects; None within the horizon."""
    for n, outcome in enumerate(outcomes, start=1):
        test = test.update(outcome)
        if test.rejected(alpha):
            return n
    return None


def naive_crossing(outcomes: list[int], alpha: float) -> int | None:
    """A fixed-sample one-sided z test of mean < 0, looked at after every request: the optional-stopping mistake."""
    z = NormalDist().inv_cdf(1 - alpha)
    total = squares = 0.0
    for n, outcome in enumerate(outcomes, start=1):
        total += outcome
        squares += outcome * outcome
        if n < NAIVE_FIRST_LOOK:
            continue
        mean = total / n
        variance = max(squares / n - mean * mean, 1e-12) * n / (n - 1)
        if mean / math.sqrt(variance / n) < -z:
            return n
    return None


def share(found: list[int | None]) -> float:
    return sum(1 for f in found if f is not None) / len(found)


def describe(found: list[int | None]) -> str:
    hits = sorted(f for f in found if f is not None)
    if not hits:
        return "never decided"
    return (f"decided in {share(found):.1%} of streams; requests to decide: median {statistics.median(hits):.0f}, "
            f"p90 {hits[int(0.9 * (len(hits) - 1))]}")


def run(label: str, streams: int, make: Callable[[], list[int]], check: Callable[[list[int]], int | None]) -> list:
    started = time.perf_counter()
    found = [check(make()) for _ in range(streams)]
    print(f"  {label}: {describe(found)}  ({time.perf_counter() - started:.1f} s)")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--horizon", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    n, h = args.streams, args.horizon
    worse = lambda outcomes: first_crossing(outcomes, BettingTest(0.0, True), ALPHA)  # noqa: E731
    non_inferior = lambda outcomes: first_crossing(outcomes, BettingTest(-MARGIN, False), ALPHA)  # noqa: E731
    naive = lambda outcomes: naive_crossing(outcomes, ALPHA)  # noqa: E731
    # Monte Carlo standard error of a rate near alpha: sqrt(a (1 - a) / n).
    se = math.sqrt(ALPHA * (1 - ALPHA) / n)
    print(f"alpha {ALPHA}, margin {MARGIN}, {n} streams of {h} requests each, checked after every request "
          f"(Monte Carlo standard error at alpha: {se:.4f})")
    print("\n1. no true difference: false rollback rate")
    for p_win, p_loss in ((0.5, 0.5), (0.2, 0.2), (0.05, 0.05)):
        print(f" P(win) = P(loss) = {p_win} (ties {1 - p_win - p_loss:.2f})")
        seq = run("sequential test (rollback when the worse test rejects)", n,
                  lambda pw=p_win, pl=p_loss: stream(rng, pw, pl, h), worse)
        fixed = run(f"naive z test repeated after every request from the {NAIVE_FIRST_LOOK}th", n,
                    lambda pw=p_win, pl=p_loss: stream(rng, pw, pl, h), naive)
        print(f"  -> false rollback rate: sequential {share(seq):.3f} (nominal {ALPHA}), naive {share(fixed):.3f} "
              f"({share(fixed) / max(share(seq), 1 / n):.1f}x the sequential's)")
    print("\n2. real effects: requests to decide")
    cases = [
        ("worse canary, delta -0.3 (wins 0.1, losses 0.4)", 0.1, 0.4, worse, "rollback"),
        ("worse canary, delta -0.1 (wins 0.1, losses 0.2)", 0.1, 0.2, worse, "rollback"),
        ("equivalent canary, all ties", 0.0, 0.0, non_inferior, "non-inferior"),
        ("equivalent canary, delta 0 (wins 0.1, losses 0.1)", 0.1, 0.1, non_inferior, "non-inferior"),
        ("inferior by the margin, delta -0.1 (wins 0.1, losses 0.2)", 0.1, 0.2, non_inferior,
         "non-inferior (an error)"),
    ]
    for label, p_win, p_loss, check, decision in cases:
        print(f" {label} -> {decision}")
        run("sequential test", n, lambda pw=p_win, pl=p_loss: stream(rng, pw, pl, h), check)


if __name__ == "__main__":
    main()
