from __future__ import annotations

import argparse

from llmops.cli.common import add_json, add_use_case, env_backend, out, out_json, workspace
from llmops.cli.targets import add_target, open_cli_target, resolve_target

NAME = "deploy"
HELP = ("deploy the latest model version to the env's endpoint (local, an Azure ML managed or Kubernetes online "
        "endpoint, or a web app): create it without traffic, smoke-test it, then shift traffic to the configured "
        "split")
EXAMPLE = "llmops deploy --use-case web_classification --env dev --target local"


def configure(parser: argparse.ArgumentParser) -> None:
    add_use_case(parser)
    add_target(parser)
    parser.add_argument("--model-version", type=int, metavar="N", help="model version to deploy (default: latest)")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from llmops.config.use_case import load_use_case
    from llmops.steps.deploy import deploy

    ws = workspace(args)
    uc = load_use_case(ws, args.use_case)
    kind = resolve_target(uc, args.env, args.target)
    backend = env_backend(args, ws, uc)
    result = deploy(ws, uc, args.env, open_cli_target(args, ws, uc, backend, kind), args.model_version,
                    backend=backend)
    d = result.deployment
    if args.json:
        out_json(result.to_dict())
        return 0
    on = f"endpoint {result.endpoint}" + ("" if result.target == "local" else f" ({result.target})")
    slot = f" on its {d.slot} slot" if d.slot else ""
    out(f"deployment {d.name} on {on}{slot}: model {d.model_name} version {d.model_version}, "
        f"variant {d.variant_label} ({result.choice.source})")
    for check in result.smoke:
        out(f"smoke test {check.describe()}")
    for note in result.notes:
        out(f"note: {note}")
    if result.scoring_url:
        out(f"scoring url: {result.scoring_url}")
    out(f"traffic: {result.traffic.split.describe()}")
    return 0
