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
    from llmops.cli.commands._render import failures_by_cause, runs_table, skipped_evaluations
    from llmops.cli.progress import progress_bars
    from llmops.config.use_case import load_use_case
    from llmops.report.failures import FailureContext
    from llmops.steps.evaluate import evaluate

    ws = workspace(args)
    uc = load_use_case(ws, args.use_case)
    backend = env_backend(args, ws, uc)
    with open_session(args, ws, uc, args.env, uc.evaluation_flows(args.env), backend) as session:
        result = evaluate(ws, uc, args.env, session, progress_bars(), backend, cancel=args.cancel)
    runs_table(result.runs)
    skipped_evaluations(result.skipped)
    failures_by_cause(result.runs, FailureContext.of(uc, args.env))
    return 0
