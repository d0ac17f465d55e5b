from __future__ import annotations

import argparse

from llmops.cli.commands.experiment import add_variant_options
from llmops.cli.common import add_cancel, add_use_case, env_backend, out, workspace
from llmops.cli.llm_args import add_llm_options, open_session

NAME = "run"
HELP = "the PR pipeline in one command: register-data, experiment, evaluate, report, gates"
EXAMPLE = "llmops run --use-case web_classification --env pr"


def configure(parser: argparse.ArgumentParser) -> None:
    add_use_case(parser)
    add_variant_options(parser)
    add_llm_options(parser)
    add_cancel(parser)


def run(args: argparse.Namespace, record: bool = False) -> int:
    from llmops.cli.commands._render import (
        failure_groups,
        failures_by_cause,
        gate_checks,
        judge_agreements,
        llm_calls,
        production_checks,
        runs_table,
        skipped_evaluations,
        trial_results,
    )
    from llmops.cli.progress import progress_bars
    from llmops.config.use_case import load_use_case
    from llmops.pipelines import experiment_pipeline
    from llmops.report.failures import FailureContext

    ws = workspace(args)
    uc = load_use_case(ws, args.use_case)
    flows = [uc.standard_flow(args.env), *uc.evaluation_flows(args.env)]
    backend = env_backend(args, ws, uc)
    with open_session(args, ws, uc, args.env, flows, backend, record=record) as session:
        result = experiment_pipeline(ws, uc, args.env, session, args.variants, args.max_runs, progress_bars(),
                                     backend, cancel=args.cancel)
        calls, remote_calls = session.call_outcomes(), session.remote_outcomes.total()
    for v in result.data.versions:
        out(f"data {v.name}: version {v.version}" + (" (new)" if v.changed else " (unchanged)"))
    calibration_runs = result.calibration.runs if result.calibration is not None else []
    production_runs = result.production.runs if result.production is not None else []
    runs_table(result.experiment.runs + result.evaluation.runs + calibration_runs + production_runs)
    llm_calls(calls, remote_calls)
    skipped_evaluations(result.evaluation.skipped)
    judge_agreements(result.calibration)
    rep = result.report.report
    trial_results(rep.summary["trials"])
    failure_groups(rep.failures)
    failures_by_cause(calibration_runs, FailureContext.of(uc, args.env))
    gate_checks(rep.gate_results)
    production_checks(rep.production)
    out(f"report: {rep.folder}")
    if result.failure is not None:
        raise result.failure
    return 0
