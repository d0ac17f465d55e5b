"""Repeated trials in the report: trial runs merged per variant, deltas paired on line means, intervals clustered."""

from __future__ import annotations

import pytest

from llmops.errors import StepFailed
from llmops.report.comparison import compare
from llmops.report.model import EvaluationRun, ExperimentRun, LineResult
from llmops.report.stats import paired_delta
from llmops.report.trial_runs import merge_trials
from llmops.report.trial_summary import trial_summary
from llmops.report.trials_markdown import trials_table

# accuracy per line (4 lines) of each trial: baseline and variant
BASELINE = [[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0]]
VARIANT = [[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 0]]


def trial_runs(label: str, by_trial: list[list[int]]) -> tuple[list[ExperimentRun], list[EvaluationRun]]:
    runs, evaluations = [], []
    for trial, scores in enumerate(by_trial):
        run_id = f"{label}-t{trial}"
        lines = tuple(LineResult(i, {"url": f"u{i}"}, {"category": "x"}, None, trial) for i in range(len(scores)))
        runs.append(ExperimentRun(run_id, f"uc_pr_{label}_{run_id}", {}, label, label == "defaults", "pr", 1, lines,
                                  None, trial=trial))
        evaluations.append(EvaluationRun("evaluation", f"eval-{run_id}", run_id, "pr",
                                         {"accuracy": sum(scores) / len(scores)},
                                         {"accuracy": tuple(float(s) for s in scores)}, (None,) * len(scores)))
    return runs, evaluations


def merged() -> tuple[list[ExperimentRun], list[EvaluationRun]]:
    base_runs, base_evals = trial_runs("defaults", BASELINE)
    variant_runs, variant_evals = trial_runs("node.variant_1", VARIANT)
    return merge_trials(base_runs + variant_runs, base_evals + variant_evals)


def test_the_trials_of_a_variant_become_one_run_with_every_trial_line() -> None:
    runs, evaluations = merged()
    assert [(r.run_id, r.trials, r.trial_run_ids) for r in runs] == [
        ("defaults-t0", 3, ("defaults-t0", "defaults-t1", "defaults-t2")),
        ("node.variant_1-t0", 3, ("node.variant_1-t0", "node.variant_1-t1", "node.variant_1-t2")),
    ]
    assert [(line.index, line.trial) for line in runs[0].lines][:4] == [(0, 0), (0, 1), (0, 2), (1, 0)]
    baseline = evaluations[0]
    assert baseline.line_values["accuracy"][:6] == (1.0, 1.0, 1.0, 1.0, 0.0, 1.0)  # line 0's trials, then line 1's
    assert baseline.metric("accuracy") == pytest.approx((0.5 + 0.25 + 0.5) / 3)  # the mean of the trials' metrics


def test_deltas_pair_line_means_and_intervals_cluster_by_line() -> None:
    runs, evaluations = merged()
    [group] = compare(runs, evaluations).metrics
    baseline, variant = group.variants
    assert (baseline.estimate.method, baseline.estimate.n) == ("wilson-clustered", 12)
    assert variant.delta is not None
    assert variant.delta.n_pairs == 4  # lines, not line x trial pairs
    line_means = {"base": [1.0, 2 / 3, 0.0, 0.0], "variant": [1.0, 1.0, 2 / 3, 0.0]}
    expected = paired_delta(line_means["base"], line_means["variant"])
    assert (variant.delta.mean, variant.delta.ci_low, variant.delta.ci_high) == pytest.approx(
        (expected.mean, expected.ci_low, expected.ci_high))


def test_the_summary_lists_flaky_lines_and_pass_at_k() -> None:
    runs, evaluations = merged()
    summary = trial_summary(compare(runs, evaluations))
    assert summary is not None and summary["per_line"] == 3
    baseline, variant = summary["metrics"][0]["variants"]
    assert baseline["flaky_lines"] == [{"line_index": 1, "trials": 3, "passes": 2}]
    assert variant["flaky_lines"] == [{"line_index": 2, "trials": 3, "passes": 2}]
    assert [round(e["value"], 3) for e in variant["pass_at_k"]] == [0.667, 0.75, 0.75]
    assert [round(e["value"], 3) for e in variant["pass_hat_k"]] == [0.667, 0.583, 0.5]
    table = trials_table(summary, max_rows=8)
    assert table[1] == "#### Repeated trials · 3 per line"
    assert table[5] == ("| `node.variant_1` | `accuracy` · evaluation · `pr` | 0.667 | 0.750 [0.301, 0.954] | "
                        "0.500 [0.150, 0.850] | 1 of 4: 2 (2/3) |")


def test_single_trials_pass_through_and_have_no_trials_section() -> None:
    runs, evaluations = trial_runs("defaults", BASELINE[:1])
    assert merge_trials(runs, evaluations) == (runs, evaluations)
    assert trial_summary(compare(runs, evaluations)) is None


def test_a_missing_trial_is_an_error_naming_the_runs() -> None:
    runs, evaluations = trial_runs("defaults", BASELINE)
    with pytest.raises(StepFailed, match=r"runs of trials \[0, 2\] \(defaults-t0, defaults-t2\)"):
        merge_trials([runs[0], runs[2]], evaluations)
