from __future__ import annotations

import argparse
import json

from llmops.cli.common import add_use_case, out, out_json, workspace

NAME = "flow-test"
HELP = "run the standard flow on one line (sample-request.json by default) and print its outputs"
EXAMPLE = "llmops flow-test --use-case web_classification --env pr"


def configure(parser: argparse.ArgumentParser) -> None:
    add_use_case(parser)
    parser.add_argument("--inputs", metavar="JSON", help="flow inputs as a JSON object (default: the "
                        "env's deployment test file, else sample-request.json)")
    parser.add_argument("--variant", metavar="NODE.VARIANT", action="append", default=[],
                        help="use this variant for a node (repeatable); default variants otherwise")
    parser.add_argument("--provider", help="LLM provider profile (default: the env's, else auto)")


def run(args: argparse.Namespace) -> int:
    from llmops.steps.flow_test import flow_test

    inputs = json.loads(args.inputs) if args.inputs else None
    result = flow_test(workspace(args), args.use_case, args.env, inputs=inputs,
                       variants=args.variant, provider=args.provider)
    out_json({"inputs": result.inputs, "outputs": result.outputs, "variant": result.variant,
              "seconds": round(result.seconds, 2)})
    if result.error:
        out(f"error: {result.error}")
        return 1
    return 0
