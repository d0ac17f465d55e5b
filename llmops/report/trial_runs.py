"""Repeated trials (TRIALS in llmops_config.json) made into one run per variant and dataset for the report.

Each trial is a run of its own (its own run id, its own LLM answers, its own evaluation runs). The report
compares variants, so the trials of one variant on one dataset become one ExperimentRun holding every trial's
lines (LineResult.trial tells them apart) and one EvaluationRun per evaluation flow whose line values follow
those lines. Its aggregated metrics are the mean of the trials' (what one trial scores on average).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from llmops.errors import StepFailed
from llmops.report.model import EvaluationRun, ExperimentRun

NOT_EVALUATED = "not evaluated"


def merge_trials(
    runs: Sequence[ExperimentRun], evaluations: Sequence[EvaluationRun]
) -> tuple[list[ExperimentRun], list[EvaluationRun]]:
    """Runs and evaluations with the trials of each variant and dataset merged; single trials pass unchanged."""
    groups: dict[tuple[str, str], list[ExperimentRun]] = {}
    for run in runs:
        groups.setdefault((run.variant_label, run.dataset), []).append(run)
    by_run: dict[str, list[EvaluationRun]] = {}
    for evaluation in evaluations:
        by_run.setdefault(evaluation.experiment_run_id, []).append(evaluation)
    merged_runs: list[ExperimentRun] = []
    merged_evaluations: list[EvaluationRun] = []
    for members in groups.values():
        if len(members) == 1:
            merged_runs.append(members[0])
            merged_evaluations += by_run.get(members[0].run_id, [])
            continue
        trials = sorted(members, key=lambda r: r.trial)
        _check_distinct(trials)
        merged = _merged_run(trials)
        merged_runs.append(merged)
        merged_evaluations += _merged_evaluations(merged, trials, by_run)
    return merged_runs, merged_evaluations


def _check_distinct(trials: list[ExperimentRun]) -> None:
    """Trials 0 .. n-1, each once (an experiment makes exactly those; trial_run_ids is indexed by trial)."""
    seen = [r.trial for r in trials]
    if seen != list(range(len(seen))):
        first = trials[0]
        raise StepFailed(
            f"variant '{first.variant_label}' on dataset '{first.dataset}' has runs of trials {seen} "
            f"({', '.join(r.run_id for r in trials)}); pass one run for each trial from 0 on"
        )


def _merged_run(trials: list[ExperimentRun]) -> ExperimentRun:
    lines = sorted(
        (replace(line, trial=run.trial) for run in trials for line in run.lines),
        key=lambda line: (line.index, line.trial),
    )
    return replace(trials[0], lines=tuple(lines), trial=0, trial_run_ids=tuple(r.run_id for r in trials),
                   trial_run_names=tuple(r.name for r in trials))


def _merged_evaluations(
    merged: ExperimentRun, trials: list[ExperimentRun], by_run: dict[str, list[EvaluationRun]]
) -> list[EvaluationRun]:
    flows: dict[tuple[str, str], dict[int, tuple[ExperimentRun, EvaluationRun]]] = {}
    for run in trials:
        for evaluation in by_run.get(run.run_id, []):
            flows.setdefault((evaluation.eval_flow, evaluation.dataset), {})[run.trial] = (run, evaluation)
    return [_merged_evaluation(merged, per_trial) for per_trial in flows.values()]


def _merged_evaluation(
    merged: ExperimentRun, per_trial: dict[int, tuple[ExperimentRun, EvaluationRun]]
) -> EvaluationRun:
    values: dict[tuple[int, int], dict[str, float | None]] = {}
    errors: dict[tuple[int, int], str | None] = {}
    for trial, (run, evaluation) in per_trial.items():
        for position, line in enumerate(run.lines):
            key = (line.index, trial)
            values[key] = {name: column[position] for name, column in evaluation.line_values.items()}
            errors[key] = evaluation.line_errors[position] if position < len(evaluation.line_errors) else None
    names = list(dict.fromkeys(name for _, e in per_trial.values() for name in e.line_values))
    keys = [(line.index, line.trial) for line in merged.lines]
    first = per_trial[min(per_trial)][1]
    return EvaluationRun(
        eval_flow=first.eval_flow,
        run_id=first.run_id,
        experiment_run_id=merged.run_id,
        dataset=first.dataset,
        metrics=_mean_metrics([e for _, e in per_trial.values()]),
        line_values={name: tuple(values.get(k, {}).get(name) for k in keys) for name in names},
        line_errors=tuple(errors[k] if k in errors else NOT_EVALUATED for k in keys),
    )


def _mean_metrics(evaluations: list[EvaluationRun]) -> dict[str, float]:
    """Each metric's mean over the trials that logged a finite value of it."""
    names = dict.fromkeys(name for e in evaluations for name in e.metrics)
    means: dict[str, float] = {}
    for name in names:
        found = [v for e in evaluations if (v := e.metric(name)) is not None]
        means[name] = math.fsum(found) / len(found) if found else math.nan
    return means

