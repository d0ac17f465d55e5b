"""Run a workflow of this repository locally, in a fresh copy of the checkout.

    .venv/bin/python -m tests.workflow_runner .github/workflows/web_classification_pr_dev_workflow.yml \\
        --event pull_request --pr 7

Prints each job's steps with their outcome, where the logs, summaries, artifacts and comments are, and
exits 0 when every job succeeded (1 otherwise, 2 on a usage or workflow error).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from llmops.errors import ConfigError, LlmopsError
from tests.workflow_runner import RunnerSettings, WorkflowRunner, copy_repository, events

REPOSITORY = Path(__file__).resolve().parents[2]


def _pairs(values: list[str], what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        name, equals, text = value.partition("=")
        if not equals:
            raise LlmopsError(f"--{what} '{value}': expected NAME=VALUE")
        pairs[name] = text
    return pairs


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.workflow_runner", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workflow", help="path of the workflow file, relative to the repository root")
    parser.add_argument("--event", default="pull_request", choices=["pull_request", "push", "workflow_dispatch"])
    parser.add_argument("--job", action="append", help="run only this top-level job (repeatable)")
    parser.add_argument("--input", action="append", default=[], metavar="NAME=VALUE", help="workflow_dispatch input")
    parser.add_argument("--secret", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="repository variable")
    parser.add_argument("--pr", type=int, default=1, help="pull request number (pull_request event)")
    parser.add_argument("--branch", default="development", help="base branch (pull_request) or pushed branch")
    parser.add_argument("--workspace", type=Path, help="an existing working copy (default: a fresh copy)")
    parser.add_argument("--shared-workspace", action="store_true",
                        help="run every job in the working copy itself (default: each job in a fresh folder where "
                             "checkout copies the working copy, like a fresh GitHub runner)")
    parser.add_argument("--out", type=Path, help="folder for logs, summaries, artifacts (default: a temp folder)")
    parser.add_argument("--venv", type=Path, default=REPOSITORY / ".venv",
                        help="virtualenv standing in for setup-python")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        temp = Path(tempfile.mkdtemp(prefix="workflow-run-"))
        workspace = args.workspace or copy_repository(REPOSITORY, temp / "workspace")
        if args.event == "pull_request":
            event = events.pull_request(args.pr, base=args.branch)
        elif args.event == "push":
            event = events.push(args.branch)
        else:
            event = events.workflow_dispatch(_pairs(args.input, "input"), branch=args.branch)
        settings = RunnerSettings(workspace=workspace.resolve(), out_dir=(args.out or temp / "out").resolve(),
                                  venv=args.venv, event=event, vars=_pairs(args.var, "var"),
                                  secrets=_pairs(args.secret, "secret"), isolated_jobs=not args.shared_workspace)
        result = WorkflowRunner(settings).run_workflow(args.workflow, jobs=args.job)
    except ConfigError as exc:
        sys.stderr.write("\n".join(str(p) for p in exc.problems) + "\n")
        return 2
    except LlmopsError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sys.stdout.write(result.describe() + "\n")
    sys.stdout.write(f"workspace: {settings.workspace}\nlogs, summaries, artifacts: {settings.out_dir}\n")
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
