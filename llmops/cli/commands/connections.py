from __future__ import annotations

import argparse
import os
from pathlib import Path

from llmops.cli.common import add_json, out, out_json, workspace

NAME = "connections"
HELP = "list the connections defined in .env (keys masked) and the provider each flow connection uses"
EXAMPLE = "llmops connections --use-case web_classification --env pr"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--use-case", "-u", metavar="NAME", help="also show the connections this use case's flows name")
    parser.add_argument("--env", "-e", metavar="ENV", default=None, help="env of the use case (default: its first)")
    parser.add_argument("--env-file", metavar="PATH", help="connections file (default: .env at the repository root)")
    parser.add_argument("--provider", default="auto", help="provider to resolve with (default auto)")
    parser.add_argument("--no-sync", action="store_true",
                        help="do not write them into prompt flow's local connection store (.llmops/promptflow)")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from llmops.config.use_case import load_use_case
    from llmops.steps.connections import list_connections

    ws = workspace(args)
    uc = load_use_case(ws, args.use_case) if args.use_case else None
    result = list_connections(ws, os.environ, uc, args.env, Path(args.env_file) if args.env_file else None,
                              args.provider, publish=not args.no_sync)
    if args.json:
        out_json(result.to_dict())
        return 0
    if not result.rows:
        out(f"no connections defined in {result.env_file} (see .env.sample); flows fall back to the embedded model")
    for row in result.rows:
        out(row.describe())
    return 0
