from __future__ import annotations

import argparse

from llmops.cli.common import add_cancel, add_use_case, env_backend, workspace
from llmops.cli.llm_args import add_llm_options, open_session

NAME = "experiment"
HELP = "run the standard flow over the env's experiment datasets, once per variant combination"
EXAMPLE = "llmops experiment --use-case web_classification --env pr --variants each"


def add_variant_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variants", default="each", metavar="MODE",
                        help="each (default: defaults + each other variant one at a time), grid, defaults, or "
                             "a list node.variant,... (the all-defaults baseline always runs too)")
    parser.add_argument("--max-runs", type=int, default=16, metavar="N",
                        help="refuse to start more than N runs per dataset (default 16)")


def configure(parser: argparse.ArgumentParser) -> None:
    add_use_case(parser)
    add_variant_options(parser)
    add_llm_options(parser)
    add_cancel(parser)


def run(args: argparse.Namespace) -> int:
    from llmops.cli.commands._render import failures_by_cause, runs_table
    from llmops.cli.progress import progress_bars
    from llmops.config.use_case import load_use_case
    from llmops.report.failures import FailureContext
    from llmops.steps.experiment import experiment

    ws = workspace(args)
    uc = load_use_case(ws, args.use_case)
    backend = env_backend(args, ws, uc)
    with open_session(args, ws, uc, args.env, [uc.standard_flow(args.env)], backend) as session:
        result = experiment(ws, uc, args.env, session, args.variants, args.max_runs, progress_bars(),
                            fail_on_failed_lines=False, backend=backend, cancel=args.cancel)
    runs_table(result.runs)
    failures_by_cause(result.runs, FailureContext.of(uc, args.env))
    if result.failing_runs:
        from llmops.errors import StepFailed

        raise StepFailed(f"{len(result.failing_runs)} run(s) over the failed-line threshold "
                         f"{result.threshold:.0%}")
    return 0
