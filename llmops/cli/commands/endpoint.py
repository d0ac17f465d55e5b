from __future__ import annotations

import argparse
from typing import Any

from llmops.cli.common import add_json, add_use_case, env_backend, out, out_json, workspace
from llmops.cli.llm_args import add_llm_options
from llmops.cli.targets import add_target

NAME = "endpoint"
HELP = ("the env's endpoint: up, down (local only), status, traffic --set blue=90,green=10, rollback (local, an "
        "Azure ML online endpoint or a web app, --target); watch: judge the canary against the live deployment and "
        "promote or roll it back (exit 3 on a rollback)")
EXAMPLE = "llmops endpoint up --use-case web_classification --env dev --provider replay"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["up", "down", "status", "traffic", "rollback", "watch"])
    add_use_case(parser)
    add_llm_options(parser)
    parser.add_argument("--port", type=int, default=0, metavar="N", help="up: port on 127.0.0.1 (default: any free)")
    parser.add_argument("--threads", type=int, default=8, metavar="N",
                        help="up: the server runs synchronous flow nodes on 4N threads (default 8)")
    parser.add_argument("--seed", type=int, metavar="N", help="up: seed the traffic draws (reproducible splits)")
    parser.add_argument("--log-max-bytes", type=int, metavar="N",
                        help="up: rotate the production log past this size (default 10 MiB)")
    parser.add_argument("--set", metavar="MAP", help="traffic: live shares, e.g. blue=90,green=10 (sum 100)")
    parser.add_argument("--mirror", metavar="MAP",
                        help="traffic: mirror shares, e.g. green=10 (at most 50, to a deployment with no live "
                             "traffic); 'none' clears it")
    parser.add_argument("--once", action="store_true", help="watch: judge what is logged now, decide once, return")
    parser.add_argument("--max-minutes", type=float, metavar="M",
                        help="watch: stop after M minutes, traffic left as it is (default CANARY.MAX_DURATION_MINUTES)")
    parser.add_argument("--poll-seconds", type=float, metavar="S",
                        help="watch: look for new answers every S seconds (default CANARY.POLL_SECONDS)")
    add_target(parser)
    add_json(parser)


def _show_status(status: Any) -> None:
    data = status.to_dict()
    if data["target"] != "local":
        out(f"endpoint {data['endpoint']} ({data['target']})")
        out(f"scoring url: {data['scoring_url']}")
    elif data["running"]:
        health = "healthy" if data["healthy"] else "NOT answering /health"
        out(f"endpoint {data['endpoint']}: running (pid {data['pid']}, provider {data['provider']}), {health}")
        out(f"scoring url: {data['scoring_url']}")
    else:
        out(f"endpoint {data['endpoint']}: not running")
    for d in data["deployments"]:
        mirror = f", mirror {d['mirror']}%" if d["mirror"] else ""
        slot = f" ({d['slot']} slot)" if d["slot"] else ""
        out(f"deployment {d['name']}{slot}: model {d['model']} version {d['model_version']}, variant {d['variant']}, "
            f"traffic {d['traffic']}%{mirror}")
    if not data["deployments"]:
        out("no deployments yet; deploy with: llmops deploy --use-case <name> --env <env>")
    if data.get("canary_decisions"):
        out("canary decisions (newest last):")
        for decision in status.canary_decisions:
            out(f"  {decision.describe()}")


def run(args: argparse.Namespace) -> int:
    from llmops.cli.targets import open_cli_target, resolve_target
    from llmops.config.use_case import load_use_case
    from llmops.steps import deploy as steps

    ws = workspace(args)
    uc = load_use_case(ws, args.use_case)
    # up and down start and stop this machine's server: auto means local for them
    target = "local" if args.action in ("up", "down") and args.target == "auto" else resolve_target(
        uc, args.env, args.target)
    if target != "local" and args.action in ("up", "down"):
        from llmops.errors import UsageError

        raise UsageError(f"endpoint {args.action} starts or stops the local endpoint server; a cloud endpoint "
                         f"({target}) is made by: llmops deploy --use-case {uc.name} --env {args.env} "
                         f"--target {target}")
    if args.action == "down":  # stops the server this machine runs; no registry needed
        stopped = steps.endpoint_down(ws, uc, args.env)
        out(f"endpoint stopped (pid {stopped.pid})" if stopped else "endpoint was not running")
        return 0
    backend = env_backend(args, ws, uc)
    if args.action == "up":
        return _up(args, ws, uc, backend)
    # A cloud target is opened here, with what this command read (a web app's Azure variables); local by name.
    opened = target if target == "local" else open_cli_target(args, ws, uc, backend, target)
    if args.action == "traffic":
        return _traffic(args, ws, uc, backend, opened)
    if args.action == "watch":
        return _watch(args, ws, uc, backend, opened)
    if args.action == "rollback":
        undone, restored = steps.rollback(ws, uc, args.env, backend, opened)
        out(f"rolled back: {undone.split.describe()} -> {restored.split.describe()}")
        _note_if_stopped(ws, uc, args.env, backend, target)
        return 0
    status = steps.endpoint_status(ws, uc, args.env, backend, opened, _cloud_logs(args, ws, uc, target))
    if args.json:
        out_json(status.to_dict())
    else:
        _show_status(status)
    return 0


def _up(args: argparse.Namespace, ws: Any, uc: Any, backend: Any) -> int:
    import os
    from pathlib import Path

    from llmops.llm.providers import check_profile
    from llmops.steps.deploy import endpoint_key, endpoint_up

    provider = check_profile(args.provider or uc.env(args.env).PROVIDER)
    env_file = Path(args.env_file) if args.env_file else None
    key = endpoint_key(ws, uc, args.env, os.environ, env_file)
    result = endpoint_up(ws, uc, args.env, provider, embedded_model=args.model, env_file=env_file, port=args.port,
                         threads=args.threads, seed=args.seed, log_max_bytes=args.log_max_bytes, key=key,
                         backend=backend)
    if args.json:
        out_json(result.to_dict())
        return 0
    info = result.server
    how = "started" if result.started else "already running"
    out(f"endpoint {info.endpoint}: {how} at {info.url} (pid {info.pid}, provider {info.provider})")
    out(f"scoring url: {info.scoring_url}")
    return 0


def _watch(args: argparse.Namespace, ws: Any, uc: Any, backend: Any, target: Any) -> int:
    from llmops.cli.llm_args import open_session
    from llmops.steps.canary_watch import choose_judge, make_judge, watch
    from llmops.steps.deploy import open_deployment_target

    opened = open_deployment_target(ws, uc, args.env, target, backend)
    choice = choose_judge(ws, uc, args.env, opened.kind)
    with open_session(args, ws, uc, args.env, [choice.flow], backend) as session:
        judge = make_judge(ws, uc, args.env, choice, backend, session, opened.endpoint, opened.kind)
        result = watch(ws, uc, args.env, opened, backend, judge, once=args.once, max_minutes=args.max_minutes,
                       poll_seconds=args.poll_seconds, store=_cloud_logs(args, ws, uc, opened.kind))
    if args.json:
        out_json(result.to_dict())
    else:
        for decision in result.decisions:
            out(decision.describe())
        live = ",".join(f"{k}={v}" for k, v in sorted(result.split.live.items()))
        out(f"traffic: {live}")
    return 3 if result.rolled_back else 0


def _cloud_logs(args: argparse.Namespace, ws: Any, uc: Any, kind: str) -> Any:
    """A cloud endpoint's (an Azure ML online endpoint's, a web app's) production-log container (its shipped answers,
    its canary decisions), opened with the Azure variables read here; None for the local target."""
    import os

    from llmops.backends import azure_edge, open_production_log_store
    from llmops.backends.targets import AZURE_ML_TARGETS, WEBAPP

    if kind not in (*AZURE_ML_TARGETS, WEBAPP):
        return None
    return open_production_log_store(uc, args.env, azure_edge(os.environ, ws.root / ".env", args.verbose))


def _traffic(args: argparse.Namespace, ws: Any, uc: Any, backend: Any, target: Any) -> int:
    from llmops.steps.deploy import parse_traffic, set_traffic, traffic_history

    if args.set is None and args.mirror is None:
        for entry in traffic_history(ws, uc, args.env, backend, target):
            state = " (rolled back)" if entry.rolled_back else ""
            out(f"{entry.seq}: {entry.split.describe()}  {entry.created_at}  {entry.reason}{state}")
        return 0
    live, mirror = parse_traffic(args.set, args.mirror)
    applied = set_traffic(ws, uc, args.env, live, mirror, backend, target)
    out(f"traffic: {applied.split.describe()}")
    _note_if_stopped(ws, uc, args.env, backend, target if isinstance(target, str) else target.kind)
    return 0


def _note_if_stopped(ws: Any, uc: Any, env: str, backend: Any, target: str) -> None:
    """A traffic change is recorded either way; say when no local server is there to apply it yet."""
    from llmops.steps.deploy import endpoint_status

    if target != "local":
        return
    if endpoint_status(ws, uc, env, backend).server is None:
        out(f"note: the endpoint is not running; this map applies when it starts (llmops endpoint up "
            f"--use-case {uc.name} --env {env})")
