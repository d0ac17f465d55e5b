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
    from llmops.backends import default_backend
    from llmops.errors import UsageError

    ws = workspace(args)
    if args.env is None:
        backend = default_backend(ws)
    elif args.use_case is None:
        raise UsageError("models list --env needs --use-case: the env is one of a use case's llmops_config.json")
    else:
        from llmops.config.use_case import load_use_case

        backend = env_backend(args, ws, load_use_case(ws, args.use_case))
    versions = backend.registry.models.list_versions(args.use_case)
    if args.json:
        out_json([{"name": v.name, "version": v.version, "sha256": v.sha256, "snapshot": str(v.snapshot),
                   "registered_at": v.registered_at, "lineage": v.lineage} for v in versions])
        return 0
    if not versions:
        out("no models registered" + (f" for use case {args.use_case}" if args.use_case else "")
            + "; register one with: llmops register-model --use-case <name> --env <env>")
        return 0
    for v in versions:
        git = v.lineage.get("git") or {}
        # A flow registered from a dirty tree is not the flow of that commit: say so wherever the commit shows.
        commit = (git.get("commit") or "unknown")[:8] + ("+uncommitted" if git.get("dirty") else "")
        out(f"{v.name} v{v.version}  sha256 {v.sha256[:12]}  {v.registered_at}  git {commit}  "
            f"variant {v.lineage.get('variant_label', 'defaults')}")
    return 0
