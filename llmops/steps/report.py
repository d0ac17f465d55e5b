"""Step: turn the latest experiment and its evaluation into report files, and check the quality gates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from llmops.backends import open_backend
from llmops.backends.protocols import Backend
from llmops.backends.shared_runs import seen_by
from llmops.config.gate_rule import USAGE_METRICS, compares_with_production
from llmops.config.skipped_evaluations import skipped_evaluations
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace
from llmops.errors import GateFailed, LlmopsError

if TYPE_CHECKING:  # the report model is imported when a report is made, not with the step
    from llmops.backends.types import LineOutcome, RunRecord
    from llmops.report.model import EvaluationRun, ExperimentRun, UsageTotals
    from llmops.report.production_gates import ProductionBaseline
    from llmops.report.usage_metrics import RunCalls
    from llmops.report.writer import ReportResult


@dataclass(frozen=True)
class ReportStepResult:
    report: ReportResult


def _usage(accounting: Path, run_ids: Sequence[str]) -> UsageTotals | None:
    """The LLM usage of a run, or of all the trials of one (their calls pooled, percentiles included)."""
    from llmops.report.model import UsageTotals

    if not accounting.is_file():
        return None
    from llmops.llm.gateway.totals import runs_totals

    totals = runs_totals(accounting, run_ids)
    if not totals.calls:
        return UsageTotals(0, 0, 0, 0.0, None, None, 0)
    return UsageTotals(calls=totals.calls, prompt_tokens=totals.prompt_tokens,
                       completion_tokens=totals.completion_tokens, cost_usd=totals.cost_usd,
                       p50_latency_ms=totals.p50_latency_ms, p95_latency_ms=totals.p95_latency_ms,
                       cache_hits=totals.cache_hits)


def load_runs(workspace: Workspace, use_case: UseCase, env: str, kind: str = "experiment",
              backend: Backend | None = None, evaluation_kind: str = "evaluation",
              ) -> tuple[list[ExperimentRun], list[EvaluationRun]]:
    """Report model objects for the latest experiment (or post-production) runs and their evaluations."""
    from llmops.report.model import EvaluationRun, ExperimentRun, LineResult

    registry = (backend or open_backend(workspace, use_case, env)).registry
    run_registry = registry.runs
    run_ids = run_registry.latest_run_set(kind, use_case.name, env)
    if not run_ids:
        raise LlmopsError(f"no {kind} of '{use_case.name}' in env '{env}' yet; run: llmops run "
                          f"--use-case {use_case.name} --env {env}")
    eval_ids = set(run_registry.latest_run_set(evaluation_kind, use_case.name, env) or [])
    accounting = workspace.state_dir / "llm_calls.sqlite"
    runs: list[ExperimentRun] = []
    evaluations: list[EvaluationRun] = []
    for run_id in run_ids:
        record = run_registry.get_run(run_id)
        if record is None:
            continue
        record = seen_by(use_case, env, record, registry.data)
        lines = run_registry.lines(run_id)
        runs.append(ExperimentRun(
            run_id=run_id, name=record.name, variant=record.variant, variant_label=record.variant_label,
            is_baseline=record.variant_label == "defaults", dataset=record.dataset,
            dataset_version=record.dataset_version,
            lines=tuple(LineResult(o.index, o.inputs, o.outputs, o.error, record.trial) for o in lines),
            usage=_usage(accounting, [run_id]), flow=record.flow, trial=record.trial,
        ))
        by_index = {o.index: o for o in lines}
        if use_case.judges_production_log(env):
            evaluations.append(_judgements(record, lines))
        for child in run_registry.child_runs(run_id, "evaluation"):
            if child.run_id not in eval_ids:
                continue
            child = seen_by(use_case, env, child, registry.data)
            eval_lines = {o.index: o for o in run_registry.lines(child.run_id)}
            names = sorted({k for o in eval_lines.values() for k, v in o.outputs.items() if _number(v) is not None})
            values = {name: tuple(_number(eval_lines[i].outputs.get(name)) if i in eval_lines else None
                                  for i in sorted(by_index)) for name in names}
            errors = tuple(eval_lines[i].error if i in eval_lines else "not evaluated" for i in sorted(by_index))
            evaluations.append(EvaluationRun(
                eval_flow=child.flow, run_id=child.run_id, experiment_run_id=run_id, dataset=child.dataset,
                metrics={k: float(v) for k, v in child.metrics.items() if _number(v) is not None},
                line_values=values, line_errors=errors,
            ))
    if any(run.trial for run in runs):  # repeated trials: one run per variant and dataset, holding every trial
        from llmops.report.trial_runs import merge_trials

        runs, evaluations = merge_trials(runs, evaluations)
        runs = [replace(run, usage=_usage(accounting, run.trial_run_ids)) if run.trials > 1 else run for run in runs]
    return runs, evaluations


def _judgements(record: RunRecord, lines: list[LineOutcome]) -> EvaluationRun:
    """A judging run's own numeric outputs and metrics, as the evaluation of itself (see
    UseCase.judges_production_log): reported, compared and gated as an evaluation flow's are."""
    from llmops.report.model import EvaluationRun

    names = sorted({k for o in lines for k, v in o.outputs.items() if _number(v) is not None})
    return EvaluationRun(
        eval_flow=record.flow, run_id=record.run_id, experiment_run_id=record.run_id, dataset=record.dataset,
        metrics={k: float(v) for k, v in record.metrics.items() if _number(v) is not None},
        line_values={name: tuple(_number(o.outputs.get(name)) for o in lines) for name in names},
        line_errors=tuple(o.error for o in lines),
    )


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    return None


def report(workspace: Workspace, use_case: UseCase, env: str, enforce_gates: bool = True,
           backend: Backend | None = None) -> ReportStepResult:
    from llmops.config.judge_flow import judge_flows
    from llmops.report.failures import FailureContext
    from llmops.report.judge_section import current_records
    from llmops.report.writer import write_report

    backend = backend or open_backend(workspace, use_case, env)
    runs, evaluations = load_runs(workspace, use_case, env, backend=backend)
    gates = use_case.env(env).GATES
    production = _production(workspace, use_case, env, backend) if compares_with_production(gates) else None
    judges = current_records(workspace.state_dir, use_case.name, env, judge_flows(use_case, env, "evaluation"),
                             rerun=f"llmops evaluate --use-case {use_case.name} --env {env}")
    result = write_report(use_case.name, env, runs, evaluations, gates, workspace.reports_dir,
                          context=FailureContext.of(use_case, env), skipped=skipped_evaluations(use_case, env),
                          production=production,
                          calls=_calls(workspace, [*runs, *(production.runs if production else ())], gates),
                          judges=judges)
    if enforce_gates and not result.gates_passed:
        raise GateFailed(f"{result.gate_failure_message} (report: {result.folder})")
    return ReportStepResult(report=result)


def _production(workspace: Workspace, use_case: UseCase, env: str, backend: Backend) -> ProductionBaseline:
    """The release serving users and its runs on the env's lines (made by the production_runs step)."""
    from llmops.backends.production_release import find_release, production_backend
    from llmops.report.production_gates import ProductionBaseline

    release = find_release(use_case, env, production_backend(workspace, use_case, env, backend).registry)
    if isinstance(release, str):
        return ProductionBaseline("", absent=release)
    kind = release.run_set_kind
    if not backend.registry.runs.latest_run_set(kind, use_case.name, env):
        return ProductionBaseline(release.describe(), unavailable=(
            f"production ({release.describe()}) has not run on this env's lines yet; run: llmops run "
            f"--use-case {use_case.name} --env {env}"))
    runs, evaluations = load_runs(workspace, use_case, env, kind, backend, evaluation_kind=kind + ":evaluation")
    return ProductionBaseline(release.describe(), tuple(runs), tuple(evaluations))


def _calls(workspace: Workspace, runs: list[ExperimentRun], gates: Mapping[str, object]) -> dict[str, RunCalls]:
    """Each run's LLM calls with their upstream cost and latency, when a gate reads them."""
    from llmops.llm.gateway.call_figures import call_figures
    from llmops.report.usage_metrics import CallFigure, RunCalls

    if not any(metric in USAGE_METRICS for metric in gates):
        return {}
    figures = call_figures(workspace.state_dir / "llm_calls.sqlite", [run.run_id for run in runs])
    return {run.run_id: RunCalls(len({line.index for line in run.lines}), tuple(
        CallFigure(f.line, f.cost_usd, f.latency_ms) for f in figures.get(run.run_id, [])))
        for run in runs}
