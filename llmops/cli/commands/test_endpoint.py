from __future__ import annotations

import argparse

from llmops.cli.common import add_json, add_use_case, env_backend, out, out_json, workspace
from llmops.cli.targets import add_target, open_cli_target, resolve_target

NAME = "test-endpoint"
HELP = ("send sample-request.json (and optionally N dataset lines) to the env's endpoint (the running local one, or "
        "the deployed cloud one, --target); exit 1 on any failure")
EXAMPLE = "llmops test-endpoint --use-case web_classification --env dev --lines 5"


def configure(parser: argparse.ArgumentParser) -> None:
    add_use_case(parser)
    parser.add_argument("--lines", type=int, default=0, metavar="N", help="also send the first N lines of a dataset")
    parser.add_argument("--dataset", metavar="NAME", help="dataset for --lines (default: the env's experiment data)")
    parser.add_argument("--deployment", metavar="NAME", help="force one deployment (azureml-model-deployment)")
    add_target(parser)
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    import os

    from llmops.config.use_case import load_use_case
    from llmops.steps.test_endpoint import test_endpoint

    ws = workspace(args)
    uc = load_use_case(ws, args.use_case)
    kind = resolve_target(uc, args.env, args.target)
    if kind == "local":
        result = test_endpoint(ws, uc, args.env, args.lines, args.dataset, args.deployment, raise_on_failure=False,
                               environ=os.environ)
    else:  # a deployed endpoint: its scoring URL and key, through its target
        target = open_cli_target(args, ws, uc, env_backend(args, ws, uc), kind)
        result = test_endpoint(ws, uc, args.env, args.lines, args.dataset, args.deployment, raise_on_failure=False,
                               target=target)
    if args.json:
        out_json(result.to_dict())
    else:
        for check in result.checks:
            out(check.describe())
        out(f"{len(result.checks) - len(result.failed)} of {len(result.checks)} requests ok ({result.scoring_url})")
    if result.failure is not None:
        raise result.failure
    return 0
