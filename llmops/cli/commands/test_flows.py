from __future__ import annotations

import argparse

from llmops.cli.common import out, workspace

NAME = "test-flows"
HELP = ("run each use case's tests/ folder and the unit tests beside its flows (test_*.py, *_test.py), "
        "each flow's with its folder on sys.path")
EXAMPLE = "llmops test-flows --use-case named_entity_recognition"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--use-case", "-u", metavar="NAME", help="only this use case's tests")
    parser.add_argument("pytest_args", nargs="*", metavar="-- PYTEST_ARGS",
                        help="passed to every pytest run after a '--', e.g. -- -k 'not azure'")


def run(args: argparse.Namespace) -> int:
    from llmops.steps.flow_tests import TEST_PATTERNS, find_test_groups, run_flow_tests

    ws = workspace(args)
    groups = find_test_groups(ws, args.use_case)
    if not groups:
        where = f"use_cases/{args.use_case}" if args.use_case else "use_cases/*"
        out(f"no flow tests: no {' or '.join(TEST_PATTERNS)} in {where}/tests or beside the flows in "
            f"{where}/flows; nothing to run")
        return 0
    result = run_flow_tests(groups, args.pytest_args)
    for group in result.groups:
        if not group.passed:
            out(group.output.rstrip())
        out(f"{group.group.name}: {group.summary}" + ("" if group.passed else " -> FAIL"))
    failed = sum(1 for group in result.groups if not group.passed)
    out(f"flow tests: {len(result.groups)} groups, {failed} failed")
    return 1 if failed else 0
