from __future__ import annotations

import argparse

from llmops.cli.common import add_json, out, out_json, workspace

NAME = "validate"
HELP = "check the configs, flows, data and mappings of every use case (or one)"
EXAMPLE = "llmops validate --use-case web_classification"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--use-case", "-u", metavar="NAME", help="check only this use case")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from llmops.steps.validate import validate

    result = validate(workspace(args), args.use_case)
    if args.json:
        out_json(result.to_dict())
    else:
        for check in result.checks:
            for warning in check.warnings:
                out(f"warning: {warning}")
            for note in check.notes:
                out(f"note: {note}")
            if check.ok:
                out(f"{check.name}: ok ({len(check.envs)} envs: {', '.join(check.envs)}; "
                    f"{check.datasets} datasets)")
            else:
                for problem in check.problems:
                    out(str(problem))
    if not result.ok:
        failed = sum(1 for c in result.checks if not c.ok)
        out(f"{result.problem_count} problem(s) in {failed} use case(s)")
        return 1
    return 0
