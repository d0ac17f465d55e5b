from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime

from llmops.cli.common import add_json, add_use_case, env_backend, out, out_json, workspace
from llmops.cli.llm_args import add_llm_options, open_session
from llmops.cli.targets import add_target, resolve_target

NAME = "post-prod-eval"
HELP = ("run the env's post-production evaluation flow over the endpoint's production log (or a dataset) and "
        "compare the current deployment with the prior")
EXAMPLE = "llmops post-prod-eval --use-case web_classification --env dev --provider replay"


def configure(parser: argparse.ArgumentParser) -> None:
    add_use_case(parser)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--log", action="store_true", help="read the endpoint's production log (default when it "
                                                           "has answered requests; a cloud endpoint's is read from "
                                                           "the workspace's blob storage)")
    source.add_argument("--dataset", metavar="NAME", help="read this dataset of data_config.json instead (default "
                                                         "without a log: the env's production_log dataset)")
    add_target(parser)
    parser.add_argument("--since", metavar="TIME", type=_moment, help="only requests answered at or after this "
                        "time (ISO 8601, UTC unless it says: 2026-11-26 or 2026-11-26T18:00)")
    parser.add_argument("--until", metavar="TIME", type=_moment, help="only requests answered at or before this time")
    parser.add_argument("--again", action="store_true", help="a cloud endpoint's log: read the segments evaluated "
                                                             "before too (default: only the new ones)")
    parser.add_argument("--record", action="store_true", help="record the LLM answers as cassettes for replay")
    add_llm_options(parser)
    add_json(parser)


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date or time; give one like 2026-11-26 or "
                                         "2026-11-26T18:00 (UTC unless it says, e.g. +02:00)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def run(args: argparse.Namespace) -> int:
    from llmops.backends import azure_edge, open_production_log_store
    from llmops.cli.commands._render import judge_agreements, runs_table
    from llmops.cli.progress import progress_bars
    from llmops.config.use_case import load_use_case
    from llmops.errors import UsageError
    from llmops.report.deployment_comparison import render_markdown
    from llmops.steps.judge_calibration import calibrate_judges
    from llmops.steps.post_prod_eval import FROM_LOG, LogWindow, choose_source, post_prod_eval, post_prod_flow

    if args.record and args.provider == "replay":
        raise UsageError("--record needs a live provider (auto, embedded, azure_openai, ...), not replay")
    ws = workspace(args)
    uc = load_use_case(ws, args.use_case)
    flow, _ = post_prod_flow(uc, args.env)
    # Find the data before the LLM session starts: a missing log fails in a second, not after a model start.
    backend = env_backend(args, ws, uc)
    kind = resolve_target(uc, args.env, args.target)
    store = None
    if kind != "local" and not args.dataset:  # a cloud endpoint's log is in its workspace's storage
        store = open_production_log_store(uc, args.env, azure_edge(os.environ, ws.root / ".env", args.verbose))
    source = choose_source(ws, uc, args.env, FROM_LOG if args.log else args.dataset, backend, kind,
                           LogWindow(args.since, args.until, args.again), store)
    with open_session(args, ws, uc, args.env, [flow], backend, record=args.record) as session:
        # The judge's calibration first: the report the post-production step writes pins it.
        calibration = calibrate_judges(ws, uc, args.env, session, "post_prod", progress_bars(), backend)
        result = post_prod_eval(ws, uc, args.env, session, source, progress_bars(), backend)
    report = result.report
    if args.json:
        out_json({**result.to_dict(), "judges": [judge.record.to_dict() for judge in calibration.judges]})
        return 0
    out(f"source: {result.source.description}")
    runs_table([result.run, *calibration.runs])
    judge_agreements(calibration)
    for group in report.comparison.metrics:
        for figure in group.variants:
            estimate = figure.estimate
            interval = (f" [{estimate.ci_low:.3f}, {estimate.ci_high:.3f}]" if estimate.has_interval else "")
            value = "n/a" if estimate.mean is None else f"{estimate.mean:.3f}"
            out(f"{group.metric} on {figure.label}: {value}{interval} (n={estimate.n})")
    if result.comparison:
        out(render_markdown(result.comparison).rstrip())
    out(f"report: {report.folder}")
    return 0
