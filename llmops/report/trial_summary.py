"""The repeated-trials part of summary.json: per-line pass rates, flaky lines, pass@k and pass^k.

Present only when the experiment ran more than one trial per line (TRIALS in llmops_config.json). Every metric
with per-line values gets each line's mean over its trials; 0/1 metrics (pass or fail) also get pass counts,
the flaky lines (verdict flips across trials) and pass@k and pass^k for k = 1 .. trials (pass_at_k.py).
"""

from __future__ import annotations

import math
from typing import Any

from llmops.report.clustered_intervals import line_groups
from llmops.report.comparison import Comparison, MetricComparison, VariantFigure
from llmops.report.pass_at_k import line_trials, mean_pass_at_k, mean_pass_hat_k
from llmops.report.stats import Estimate, is_binary, present

TRIALS_NOTE = (
    "Repeated trials: each line ran several times (TRIALS in llmops_config.json), each trial with LLM answers "
    "of its own. A metric's mean is over every trial; its 95% interval treats a line's trials as one cluster "
    "(cluster-robust variance over lines; for 0/1 metrics a Wilson interval on the effective sample size, the "
    "values divided by the design effect). Deltas against the baseline pair each line's mean over its trials. "
    "pass@k is the share of lines where at least one of k trials passes, pass^k where all k pass: the unbiased "
    "estimators 1 - C(n-c,k)/C(n,k) and C(c,k)/C(n,k) for a line with c of n trials passed, averaged over the "
    "lines, with a 95% interval over lines. A flaky line is a line whose verdict flips across its trials."
)


def trial_summary(comparison: Comparison) -> dict[str, Any] | None:
    """summary.json's "trials" object, or None when every run has one trial per line."""
    trials = max((run.trials for run in comparison.runs), default=1)
    if trials <= 1:
        return None
    metrics = [_metric(group) for group in comparison.metrics if group.has_line_values]
    return {"per_line": trials, "method": TRIALS_NOTE, "metrics": [m for m in metrics if m["variants"]]}


def _metric(group: MetricComparison) -> dict[str, Any]:
    variants = [v for f in group.variants if (v := _variant(f, group.metric)) is not None]
    return {
        "metric": group.metric,
        "eval_flow": group.eval_flow,
        "dataset": group.dataset,
        "binary": bool(variants) and all(v["binary"] for v in variants),
        "variants": variants,
    }


def _variant(figure: VariantFigure, metric: str) -> dict[str, Any] | None:
    values = figure.evaluation.line_values.get(metric)
    if values is None:
        return None
    lines = [line.index for line in figure.run.lines]
    binary = is_binary(present(values))
    result: dict[str, Any] = {
        "variant_label": figure.label,
        "is_baseline": figure.run.is_baseline,
        "trials": figure.run.trials,
        "binary": binary,
    }
    if not binary:
        result["lines"] = [
            {"line_index": line, "trials": len(kept), "mean": math.fsum(kept) / len(kept),
             "min": min(kept), "max": max(kept)}
            for line, kept in line_groups(lines, values).items()
        ]
        return result
    per_line = line_trials(lines, values)
    result["lines"] = [
        {"line_index": t.line, "trials": t.trials, "passes": t.passes, "pass_rate": t.pass_rate, "flaky": t.flaky}
        for t in per_line
    ]
    result["flaky_lines"] = [
        {"line_index": t.line, "trials": t.trials, "passes": t.passes} for t in per_line if t.flaky
    ]
    ks = range(1, figure.run.trials + 1)
    result["pass_at_k"] = [_estimate(k, mean_pass_at_k(per_line, k)) for k in ks]
    result["pass_hat_k"] = [_estimate(k, mean_pass_hat_k(per_line, k)) for k in ks]
    return result


def _estimate(k: int, estimate: Estimate) -> dict[str, Any]:
    return {"k": k, "value": estimate.mean, "ci_low": estimate.ci_low, "ci_high": estimate.ci_high,
            "lines": estimate.n}
