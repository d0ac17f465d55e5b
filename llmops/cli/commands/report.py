from __future__ import annotations

import argparse

from llmops.cli.common import add_use_case, env_backend, out, workspace

NAME = "report"
HELP = "write the report of the latest experiment and evaluation, and check the quality gates (exit 3)"
EXAMPLE = "llmops report --use-case web_classification --env pr"


def configure(parser: argparse.ArgumentParser) -> None:
    add_use_case(parser)
    parser.add_argument("--md", action="store_true", help="print summary.md on stdout")


def run(args: argparse.Namespace) -> int:
    from llmops.config.use_case import load_use_case
    from llmops.steps.report import report

    ws = workspace(args)
    uc = load_use_case(ws, args.use_case)
    result = report(ws, uc, args.env, enforce_gates=False, backend=env_backend(args, ws, uc)).report
    if args.md:
        out(result.summary_md.read_text(encoding="utf-8").rstrip())
    else:
        from llmops.cli.commands._render import failure_groups, gate_checks, production_checks, trial_results

        trial_results(result.summary["trials"])
        failure_groups(result.failures)
        gate_checks(result.gate_results)
        production_checks(result.production)
    out(f"report: {result.folder}")
    if not result.gates_passed:
        from llmops.errors import GateFailed

        raise GateFailed(str(result.gate_failure_message))
    return 0
