from __future__ import annotations

import argparse

from llmops.cli.common import add_json, out, out_json, workspace

NAME = "models"
HELP = "list the registered model versions (flow snapshots) with their lineage"
EXAMPLE = "llmops models list --use-case web_classification"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["list"])
    parser.add_argument("--use-case", "-u", metavar="NAME", help="only the models of this use case")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from llmops.backends import default_backend

    versions = default_backend(workspace(args)).registry.models.list_versions(args.use_case)
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
