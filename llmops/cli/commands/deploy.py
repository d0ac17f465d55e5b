from __future__ import annotations

import argparse
from typing import Any

from llmops.cli.common import add_json, add_use_case, env_backend, out, out_json, workspace
from llmops.cli.targets import add_target, resolve_target, webapp_host

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
    import os

    from llmops.config.use_case import load_use_case
    from llmops.steps.deploy import deploy, endpoint_key

    ws = workspace(args)
    uc = load_use_case(ws, args.use_case)
    target = resolve_target(uc, args.env, args.target)
    backend = env_backend(args, ws, uc)
    if target == "webapp":
        return _deploy_webapp(args, ws, uc, backend)
    key = endpoint_key(ws, uc, args.env, os.environ) if target == "local" else None
    result = deploy(ws, uc, args.env, target, args.model_version, key, backend)
    d = result.deployment
    if args.json:
        out_json(result.to_dict())
        return 0
    on = f"endpoint {result.endpoint}" + ("" if result.target == "local" else f" ({result.target})")
    out(f"deployment {d.name} on {on}: model {d.model_name} version {d.model_version}, "
        f"variant {d.variant_label} ({result.choice.source})")
    for check in result.smoke:
        out(f"smoke test {check.describe()}")
    for note in result.notes:
        out(f"note: {note}")
    out(f"traffic: {result.traffic.split.describe()}")
    return 0


def _deploy_webapp(args: argparse.Namespace, ws: Any, uc: Any, backend: Any) -> int:
    from llmops.steps.deploy_webapp import deploy_webapp

    result = deploy_webapp(ws, uc, args.env, webapp_host(args, ws, uc), args.model_version, backend)
    if args.json:
        out_json(result.to_dict())
        return 0
    out(f"web app {result.web_app}: release {result.release.name} (model {result.model.name} version "
        f"{result.model.version}, {result.release.image})")
    for check in result.smoke:
        out(f"smoke test {check.describe()}")
    for note in result.notes:
        out(f"note: {note}")
    out(f"traffic: {result.routing.describe()} ({result.scoring_url})")
    return 0
