from __future__ import annotations

import argparse

from llmops.cli.common import add_json, add_use_case, env_backend, out, out_json, workspace

NAME = "register-model"
HELP = "register the env's standard flow as a model version (new only when the flow changed), with its lineage"
EXAMPLE = "llmops register-model --use-case web_classification --env dev"


def configure(parser: argparse.ArgumentParser) -> None:
    add_use_case(parser)
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from llmops.config.use_case import load_use_case
    from llmops.steps.register_model import register_model

    ws = workspace(args)
    uc = load_use_case(ws, args.use_case)
    result = register_model(ws, uc, args.env, env_backend(args, ws, uc))
    model = result.model
    if args.json:
        out_json(result.to_dict())
        return 0
    state = "registered version" if model.changed else "unchanged at version"
    out(f"model {model.name}: {state} {model.version} (flow sha256 {model.sha256[:12]})")
    out(f"snapshot: {model.snapshot}")
    lineage = model.lineage
    git = lineage.get("git") or {}
    commit = (git.get("commit") or "unknown")[:12] + (" with uncommitted changes" if git.get("dirty") else "")
    out(f"git commit: {commit}")
    data = ", ".join(f"{d['name']} v{d['version']}" for d in lineage.get("data", [])) or "(no experiment yet)"
    out(f"data: {data}")
    out(f"runs: {len(lineage.get('experiment_runs', []))} experiment, "
        f"{len(lineage.get('evaluation_runs', []))} evaluation")
    out(f"variant: {lineage.get('variant_label')} ({lineage.get('variant_source')})")
    from llmops.cli.commands._render import metrics_text  # imports the report package: not at --help

    metrics = metrics_text(lineage.get("metrics") or {})
    if metrics:
        out(f"metrics: {metrics.removeprefix('; ')}")
    return 0
