from __future__ import annotations

import argparse

from llmops.cli.common import add_json, out, out_json, workspace

NAME = "new"
HELP = ("scaffold a use case from a shipped one or the prompty template, with its caller workflows; it passes "
        "validate and run as created")
EXAMPLE = "llmops new demo_uc --from web_classification && llmops run -u demo_uc -e pr"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the new use case's folder name under use_cases/ (lower case, digits, _)")
    parser.add_argument("--from", dest="source", default="web_classification", metavar="SOURCE",
                        help="a use case of this repository (web_classification, named_entity_recognition, "
                             "math_coding, ...) or the template 'prompty' (default: web_classification)")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from llmops.steps.new_use_case import new_use_case

    ws = workspace(args)
    result = new_use_case(ws, args.name, args.source)
    if args.json:
        out_json(result.to_dict())
        return 0
    out(f"created {ws.shown(result.folder)} from {result.source}")
    for workflow in result.workflows:
        out(f"created {ws.shown(workflow)}")
    out(f"next: llmops validate --use-case {result.name} && llmops run --use-case {result.name} --env pr "
        "(docs/new_use_case.md)")
    return 0
