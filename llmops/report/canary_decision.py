"""What a canary watch does next, from the sequential test's evidence (sequential_test.py) and where traffic is.

- significantly worse (the "worse" test rejects at alpha): roll back, the live deployment takes 100%;
- non-inferior within the margin (or better), with at least MIN_SAMPLE judged requests at the canary's current
  share: promote to the next of PROMOTION_STEPS above that share (from mirror only, to the first step);
- otherwise keep watching until the maximum duration, then leave traffic as it is and say so.
The rollback test accumulates over the whole watch, so its false rollback rate stays at most alpha however many
steps there are; the non-inferiority verdict, once reached, holds, and each further step only waits for
MIN_SAMPLE more judged requests at the larger share (a canary that turns worse there is still rolled back).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmops.backends.canary import EXPIRED, PROMOTE, ROLLBACK, WATCH
from llmops.report.sequential_test import BETTER, NON_INFERIOR, WORSE, Evidence


@dataclass(frozen=True)
class Plan:
    action: str  # ROLLBACK, PROMOTE, WATCH or EXPIRED
    share_after: int
    reason: str


def next_step(steps: Sequence[int], share: int) -> int:
    return next((s for s in steps if s > share), 100)


def decide(evidence: Evidence, share: int, steps: Sequence[int], min_sample: int, judged_at_share: int,
           expired: bool) -> Plan:
    """`share`: the canary's live share now (0 when it only gets mirrored traffic); `judged_at_share`: judged
    requests since it took that share; `expired`: the watch reached its maximum duration."""
    stats = evidence.describe()
    if evidence.verdict == WORSE:
        return Plan(ROLLBACK, 0, f"canary significantly worse (worse e-value {evidence.worse_e:.3g} >= "
                                 f"{evidence.threshold:g}); {stats}")
    if evidence.verdict in (NON_INFERIOR, BETTER) and judged_at_share >= min_sample:
        target = next_step(steps, share)
        return Plan(PROMOTE, target, f"canary {evidence.verdict} (non-inferiority e-value "
                                     f"{evidence.non_inferior_e:.3g} >= {evidence.threshold:g}) with "
                                     f"{judged_at_share} judged requests at {share}% (minimum {min_sample}); {stats}")
    waiting = (f"{evidence.verdict}" if evidence.verdict not in (NON_INFERIOR, BETTER)
               else f"{evidence.verdict}, {judged_at_share} of {min_sample} judged requests at {share}%")
    if expired:
        return Plan(EXPIRED, share, f"maximum duration reached, traffic left as it is ({waiting}); {stats}")
    return Plan(WATCH, share, f"keep watching ({waiting}); {stats}")
