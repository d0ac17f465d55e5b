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
    from llmops.llm.connections import read_connections
    from llmops.llm.providers import Use, choose

    ws = workspace(args)
    env_file = Path(args.env_file) if args.env_file else ws.root / ".env"
    connections = read_connections(env_file, os.environ)
    uses: list[Use] = []
    if args.use_case:
        from llmops.config.use_case import load_use_case

        uc = load_use_case(ws, args.use_case)
        env = args.env or uc.llmops.env_names[0]
        flows = [uc.standard_flow(env), *uc.evaluation_flows(env)]
        uses = [Use(f.name, node, conn) for f in flows for node, conn in f.connections()]
    choices = choose(uses, connections, args.provider)
    if connections and not args.no_sync:
        from llmops.backends import default_backend

        store = default_backend(ws).executor.publish_connections(connections)
        import logging

        logging.getLogger("llmops").info("connections written to %s", store)
    rows = []
    for name in sorted(set(connections) | set(choices)):
        conn = connections.get(name)
        choice = choices.get(name)
        rows.append({
            "name": name, "type": conn.api_type if conn else "-", "target": conn.target if conn else "-",
            "key": conn.masked_key if conn else "-", "provider": choice.profile if choice else "-",
            "used_by": sorted({f"{u.flow}.{u.node}" for u in uses if u.connection == name}),
        })
    if args.json:
        out_json(rows)
        return 0
    if not rows:
        out(f"no connections defined in {env_file} (see .env.sample); flows fall back to the embedded model")
    for row in rows:
        used = f" used by {', '.join(row['used_by'])}" if row["used_by"] else ""
        out(f"{row['name']}: type {row['type']}, target {row['target']}, key {row['key']}, "
            f"provider {row['provider']}{used}")
    return 0
