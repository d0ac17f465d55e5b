from __future__ import annotations

import argparse

from llmops.cli.common import add_cancel, add_use_case, env_backend, workspace
from llmops.cli.llm_args import add_llm_options, open_session

NAME = "evaluate"
HELP = "run every evaluation flow of the env on every run of the latest experiment"
EXAMPLE = "llmops evaluate --use-case web_classification --env pr"


def configure(parser: argparse.ArgumentParser) -> None:
    add_use_case(parser)
    add_llm_options(parser)
    add_cancel(parser)


def run(args: argparse.Namespace) -> int:
    from llmops.cli.commands._render import failures_by_cause, judge_agreements, runs_table, skipped_evaluations
    from llmops.cli.progress import progress_bars
    from llmops.config.judge_flow import judge_flows
    from llmops.config.use_case import load_use_case
    from llmops.report.failures import FailureContext
    from llmops.steps.evaluate import evaluate
    from llmops.steps.judge_calibration import calibrate_judges

    ws = workspace(args)
    uc = load_use_case(ws, args.use_case)
    backend = env_backend(args, ws, uc)
    flows = list({f.name: f for f in [*uc.evaluation_flows(args.env), *judge_flows(uc, args.env, "evaluation")]}
                 .values())
    with open_session(args, ws, uc, args.env, flows, backend) as session:
        result = evaluate(ws, uc, args.env, session, progress_bars(), backend, cancel=args.cancel)
        calibration = calibrate_judges(ws, uc, args.env, session, "evaluation", progress_bars(), backend,
                                       cancel=args.cancel)
    runs_table(result.runs + calibration.runs)
    skipped_evaluations(result.skipped)
    failures_by_cause(result.runs + calibration.runs, FailureContext.of(uc, args.env))
    judge_agreements(calibration)
    return 0
