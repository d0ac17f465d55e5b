from __future__ import annotations

import argparse

from llmops.cli.common import add_json, env_backend, out, out_json, workspace

NAME = "models"
HELP = ("list the registered model versions (flow snapshots made by register-model) with their lineage; the "
        "embedded LLM is 'model'")
EXAMPLE = "llmops models list --use-case web_classification"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["list"])
    parser.add_argument("--use-case", "-u", metavar="NAME", help="only the models of this use case")
    parser.add_argument("--env", "-e", metavar="ENV",
                        help="list the models of the registry this env's BACKEND keeps them in (an Azure ML workspace "
                             "for azureml; needs --use-case); default: the local registry")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from llmops.config.use_case import load_use_case
    from llmops.steps.models import describe, list_models

    ws = workspace(args)
    uc = load_use_case(ws, args.use_case) if args.use_case else None
    # An azureml env needs the Azure variables, which only the CLI reads (env_backend).
    backend = env_backend(args, ws, uc) if uc is not None and args.env else None
    result = list_models(ws, uc, args.env, backend)
    if args.json:
        out_json(result.to_dict())
        return 0
    if not result.versions:
        out("no models registered" + (f" for use case {args.use_case}" if args.use_case else "")
            + "; register one with: llmops register-model --use-case <name> --env <env>")
    for version in result.versions:
        out(describe(version))
    return 0
