"""The numbers behind every report: each metric per variant, its interval and its delta to the baseline.

A metric is compared within a group: one evaluation flow on one dataset. Inside a group each variant
appears once, and deltas pair its lines with the baseline's lines by dataset line index (with repeated
trials, each line's mean over its trials; its interval then treats a line's trials as one cluster).
"""

from __future__ import annotations

import decimal
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from llmops.errors import StepFailed, unknown_name
from llmops.report.clustered_intervals import clustered_estimate, line_means
from llmops.report.model import EvaluationRun, ExperimentRun
from llmops.report.stats import Estimate, PairedDelta, estimate_mean, paired_delta

logger = logging.getLogger(__name__)

NO_LINE_VALUES = "no per-line values"


@dataclass(frozen=True)
class VariantFigure:
    """One variant's value of one metric in one group."""

    run: ExperimentRun
    evaluation: EvaluationRun
    value: float | None  # the aggregated metric as the evaluation flow logged it
    estimate: Estimate  # from the per-line values; its note says why there is no interval
    delta: PairedDelta | None  # None for the baseline itself and in a group without a baseline

    @property
    def label(self) -> str:
        return self.run.variant_label


@dataclass(frozen=True)
class MetricComparison:
    """One metric of one evaluation flow on one dataset, across variants (baseline first)."""

    eval_flow: str
    dataset: str
    metric: str
    has_line_values: bool
    variants: tuple[VariantFigure, ...]

    @property
    def baseline(self) -> VariantFigure | None:
        return next((f for f in self.variants if f.run.is_baseline), None)

    def figure(self, variant_label: str) -> VariantFigure | None:
        return next((f for f in self.variants if f.label == variant_label), None)


@dataclass(frozen=True)
class Comparison:
    """Every metric comparison of one experiment, the primary metric and the best variant per dataset."""

    runs: tuple[ExperimentRun, ...]
    evaluations: tuple[EvaluationRun, ...]
    metrics: tuple[MetricComparison, ...]
    primary_metric: str | None
    best: dict[str, str]  # evaluation dataset -> label of the best variant on it

    @property
    def datasets(self) -> tuple[str, ...]:
        """Evaluation datasets in the order they first appear."""
        return tuple(dict.fromkeys(m.dataset for m in self.metrics))

    @property
    def baseline_label(self) -> str | None:
        return next((r.variant_label for r in self.runs if r.is_baseline), None)

    def run(self, run_id: str) -> ExperimentRun:
        return next(r for r in self.runs if r.run_id == run_id)

    def for_metric(self, metric: str) -> tuple[MetricComparison, ...]:
        return tuple(m for m in self.metrics if m.metric == metric)


def compare(
    runs: Sequence[ExperimentRun], evaluations: Sequence[EvaluationRun], primary_metric: str | None = None
) -> Comparison:
    """Build every comparison. `primary_metric` defaults to the first metric of the first evaluation."""
    runs_by_id = {run.run_id: run for run in runs}
    _check_evaluations(runs_by_id, evaluations)
    groups: dict[tuple[str, str], list[EvaluationRun]] = {}
    for evaluation in evaluations:
        groups.setdefault((evaluation.eval_flow, evaluation.dataset), []).append(evaluation)
    metrics = tuple(
        _compare_metric(eval_flow, dataset, metric, members, runs_by_id)
        for (eval_flow, dataset), members in groups.items()
        for metric in _metric_names(members)
    )
    if primary_metric is None:
        primary_metric = next(iter(_metric_names(evaluations[:1])), None)
    datasets = dict.fromkeys(m.dataset for m in metrics)
    best = {dataset: _best_label(metrics, dataset, primary_metric) for dataset in datasets}
    return Comparison(tuple(runs), tuple(evaluations), metrics, primary_metric, best)


def _metric_names(evaluations: Iterable[EvaluationRun]) -> list[str]:
    return list(dict.fromkeys(name for evaluation in evaluations for name in evaluation.metrics))


def _check_evaluations(runs_by_id: dict[str, ExperimentRun], evaluations: Sequence[EvaluationRun]) -> None:
    seen: dict[tuple[str, str, str], str] = {}
    for evaluation in evaluations:
        run = runs_by_id.get(evaluation.experiment_run_id)
        if run is None:
            raise unknown_name(
                "experiment run",
                evaluation.experiment_run_id,
                list(runs_by_id),
                f"Evaluation run '{evaluation.run_id}' must point at one of the runs passed to the report",
            )
        key = (evaluation.eval_flow, evaluation.dataset, run.variant_label)
        if key in seen:
            raise StepFailed(
                f"evaluation flow '{evaluation.eval_flow}' on dataset '{evaluation.dataset}' has two results "
                f"for variant '{run.variant_label}' "
                f"(evaluation runs '{seen[key]}' and '{evaluation.run_id}'); "
                "pass one evaluation per experiment run"
            )
        seen[key] = evaluation.run_id
        for name, values in evaluation.line_values.items():
            if len(values) != len(run.lines):
                raise StepFailed(
                    f"evaluation run '{evaluation.run_id}': line values of '{name}' have {len(values)} "
                    f"entries but experiment run '{run.run_id}' has {len(run.lines)} lines; "
                    "align line values with the experiment run's lines (None for a missing value)"
                )


def _compare_metric(
    eval_flow: str,
    dataset: str,
    metric: str,
    members: list[EvaluationRun],
    runs_by_id: dict[str, ExperimentRun],
) -> MetricComparison:
    # Baseline first, the others in the order they were passed.
    ordered = sorted(members, key=lambda e: not runs_by_id[e.experiment_run_id].is_baseline)
    baseline_eval = next((e for e in ordered if runs_by_id[e.experiment_run_id].is_baseline), None)
    has_line_values = any(metric in e.line_values for e in ordered)
    figures = []
    for evaluation in ordered:
        run = runs_by_id[evaluation.experiment_run_id]
        value = evaluation.metric(metric)
        estimate = _estimate(evaluation, metric, value, run)
        delta = None
        if baseline_eval is not None and evaluation is not baseline_eval:
            delta = _delta(baseline_eval, evaluation, metric, runs_by_id)
        figures.append(VariantFigure(run, evaluation, value, estimate, delta))
    return MetricComparison(eval_flow, dataset, metric, has_line_values, tuple(figures))


def _same_up_to_rounding(aggregate: float, mean: float) -> bool:
    """True when `aggregate` is `mean` as an evaluation flow logs it: often rounded (0.9388 for 46/49).

    Only a value with 2 to 6 decimals counts as rounded: 1.0 logged for a mean of 0.96 is a mismatch.
    """
    if math.isclose(aggregate, mean, rel_tol=1e-6, abs_tol=1e-9):
        return True
    exponent = decimal.Decimal(repr(aggregate)).as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) else 0
    return 2 <= decimals <= 6 and math.isclose(round(mean, decimals), aggregate, abs_tol=10 ** -(decimals + 3))


def _estimate(evaluation: EvaluationRun, metric: str, value: float | None, run: ExperimentRun) -> Estimate:
    if metric not in evaluation.line_values:
        return Estimate(value, 0, None, None, "none", NO_LINE_VALUES)
    values = evaluation.line_values[metric]
    # Repeated trials of a line are one cluster: an interval counting them as lines would be too narrow.
    estimate = (clustered_estimate([line.index for line in run.lines], values) if run.trials > 1
                else estimate_mean(values))
    if (
        value is not None
        and estimate.mean is not None
        and not _same_up_to_rounding(value, estimate.mean)
    ):
        logger.warning(
            "evaluation run '%s': aggregated %s = %s but the mean of its line values is %s; "
            "the interval is about the line values",
            evaluation.run_id,
            metric,
            value,
            estimate.mean,
        )
    return estimate


def _delta(
    baseline: EvaluationRun, variant: EvaluationRun, metric: str, runs_by_id: dict[str, ExperimentRun]
) -> PairedDelta:
    if metric not in baseline.line_values or metric not in variant.line_values:
        base_value, variant_value = baseline.metric(metric), variant.metric(metric)
        difference = None if base_value is None or variant_value is None else variant_value - base_value
        return PairedDelta(difference, 0, None, None, None, NO_LINE_VALUES)
    baseline_by_line = _values_by_line(baseline, metric, runs_by_id)
    variant_by_line = _values_by_line(variant, metric, runs_by_id)
    common = [index for index in baseline_by_line if index in variant_by_line]
    return paired_delta([baseline_by_line[i] for i in common], [variant_by_line[i] for i in common])


def _values_by_line(
    evaluation: EvaluationRun, metric: str, runs_by_id: dict[str, ExperimentRun]
) -> dict[int, float | None]:
    """Each line's value; with repeated trials its mean over the trials, so pairs are lines, not trials."""
    lines = runs_by_id[evaluation.experiment_run_id].lines
    means = line_means([line.index for line in lines], evaluation.line_values[metric])
    return {line.index: means.get(line.index) for line in lines}


def _best_label(metrics: Sequence[MetricComparison], dataset: str, primary_metric: str | None) -> str:
    """Highest primary metric on the dataset (first evaluation flow reporting it); ties go to the baseline."""
    group = next((m for m in metrics if m.dataset == dataset and m.metric == primary_metric), None)
    if group is None:
        group = next(m for m in metrics if m.dataset == dataset)
        return group.baseline.label if group.baseline else group.variants[0].label
    scored = [f for f in group.variants if f.value is not None]
    if not scored:
        return group.baseline.label if group.baseline else group.variants[0].label
    top = max(f.value for f in scored if f.value is not None)
    # The baseline comes first in `variants`, so it wins a tie; otherwise the first run passed wins.
    return next(f.label for f in scored if f.value == top)
