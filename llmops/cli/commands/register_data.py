from __future__ import annotations

import argparse

from llmops.cli.common import add_json, add_use_case, env_backend, out, out_json, workspace

NAME = "register-data"
HELP = "register the env's datasets in the registry (a new version only when the bytes changed)"
EXAMPLE = "llmops register-data --use-case web_classification --env pr"


def configure(parser: argparse.ArgumentParser) -> None:
    add_use_case(parser)
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from llmops.config.use_case import load_use_case
    from llmops.steps.register_data import register_data

    ws = workspace(args)
    uc = load_use_case(ws, args.use_case)
    result = register_data(ws, uc, args.env, env_backend(args, ws, uc))
    if args.json:
        out_json(result.to_dict())
        return 0
    for v in result.versions:
        state = f"registered version {v.version}" if v.changed else f"unchanged at version {v.version}"
        out(f"{v.name}: {state} ({v.rows} lines, sha256 {v.sha256[:12]})")
    return 0
