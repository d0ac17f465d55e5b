from __future__ import annotations

import argparse
import json

from llmops.cli.common import add_use_case, env_backend, out_json, workspace
from llmops.cli.llm_args import add_llm_options, open_session

NAME = "flow-test"
HELP = "run the standard flow on one line (the env's test file by default) and print its outputs"
EXAMPLE = "llmops flow-test --use-case web_classification --env pr --inputs '{\"url\": \"https://arxiv.org\"}'"


def configure(parser: argparse.ArgumentParser) -> None:
    add_use_case(parser)
    parser.add_argument("--inputs", metavar="JSON", help="flow inputs as a JSON object (default: the env's "
                        "deployment TEST_FILE_PATH, else sample-request.json)")
    parser.add_argument("--variant", metavar="NODE.VARIANT", action="append", default=[],
                        help="use this variant for a node (repeatable); default variants otherwise")
    add_llm_options(parser)


def run(args: argparse.Namespace) -> int:
    from llmops.config.use_case import load_use_case
    from llmops.errors import UsageError
    from llmops.steps.flow_test import flow_test

    try:
        inputs = json.loads(args.inputs) if args.inputs else None
    except json.JSONDecodeError as exc:
        raise UsageError(f"--inputs is not valid JSON: {exc.msg}") from None
    ws = workspace(args)
    uc = load_use_case(ws, args.use_case)
    variants = ["+".join(args.variant)] if args.variant else None
    backend = env_backend(args, ws, uc)
    with open_session(args, ws, uc, args.env, [uc.standard_flow(args.env)], backend) as session:
        result = flow_test(ws, uc, args.env, session, inputs, variants, backend)
    out_json(result.to_dict())
    return 1 if result.error else 0
