"""write_report: turn an experiment's runs and evaluations into the report folder.

<out_root>/<use_case>/<env>/<YYYYmmdd-HHMMSS>/ holds results.csv, metrics.csv, report.html,
summary.md and summary.json (and line_trials.csv and pass_at_k.csv with repeated trials);
<out_root>/<use_case>/<env>/latest points at the newest folder (a symlink, plus a LATEST text file with the
folder name for platforms without symlinks).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmops.config.gate_rule import USAGE_METRICS
from llmops.errors import StepFailed, UsageError
from llmops.report.comparison import Comparison, compare
from llmops.report.csv_files import write_metrics_csv, write_results_csv
from llmops.report.failures import FailureContext, FailureGroup, failed_lines_of, group_failures
from llmops.report.gates import Gate, GateResult, evaluate_gates, failure_message, parse_gates
from llmops.report.judge_agreement import JudgeRecord
from llmops.report.judge_gates import judge_gate_results, split_judge_gates
from llmops.report.judge_section import baseline_judges, judges_section
from llmops.report.markdown import render_markdown
from llmops.report.model import EvaluationRun, ExperimentRun
from llmops.report.production_gates import (
    ProductionBaseline,
    ProductionGates,
    check_against_production,
    section_json,
    usage_threshold_results,
)
from llmops.report.summary import build_summary
from llmops.report.trials_csv import write_line_trials_csv, write_pass_at_k_csv
from llmops.report.usage_metrics import RunCalls

logger = logging.getLogger(__name__)

LATEST_LINK = "latest"
LATEST_FILE = "LATEST"
_FOLDER_NAME = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class ReportResult:
    folder: Path
    results_csv: Path
    metrics_csv: Path
    html: Path
    summary_md: Path
    summary_json: Path
    created: datetime
    comparison: Comparison
    gate_results: tuple[GateResult, ...]
    failures: tuple[FailureGroup, ...]  # failed lines grouped by cause, most lines first
    summary: dict[str, Any]
    production: ProductionGates | None = None  # the checks against production, when a gate has vs_production
    line_trials_csv: Path | None = None  # per-line results over repeated trials; only with TRIALS > 1

    @property
    def gates_passed(self) -> bool:
        return all(r.passed for r in self.gate_results) and (self.production is None or self.production.passed)

    @property
    def gate_failure_message(self) -> str | None:
        """The message for GateFailed, or None when every gate passed."""
        return production_failure_message(failure_message(self.gate_results), self.production)


def write_report(
    use_case: str,
    env: str,
    runs: Sequence[ExperimentRun],
    evaluations: Sequence[EvaluationRun],
    gates: Mapping[str, object] | Sequence[Gate],
    out_root: Path,
    now: datetime | None = None,
    context: FailureContext | None = None,
    skipped: Sequence[object] = (),
    production: ProductionBaseline | None = None,
    calls: Mapping[str, RunCalls] | None = None,
    judges: Sequence[JudgeRecord] = (),
) -> ReportResult:
    """Compare the variants, check the gates, group the failed lines by cause and write every report file.

    `gates` is either the env's gates from llmops_config.json ({"accuracy": ">= 0.6"}) or parsed
    Gate objects. Gate failures are returned, not raised: the caller decides (GateFailed, exit 3).
    `context` lets a fix name the flows' requirements files; without it, fixes name only use case and env.
    `skipped`: the evaluations the env skipped, each saying why as its text (a gate on their metric names them).
    `production`: the model serving users and its runs on these lines, for gates with vs_production; `calls`: each
    run's LLM calls (run id -> RunCalls), for gates on cost_per_line, latency_p50 and latency_p95.
    `judges`: the LLM judges of the report's evaluations, pinned in it; `judge_kappa` gates are checked on them.
    """
    for kind, name in (("use case", use_case), ("environment", env)):
        if not _FOLDER_NAME.fullmatch(name) or name in (".", ".."):
            raise UsageError(
                f"{kind} name '{name}' cannot be a folder name; use letters, digits, '_', '-' or '.'"
            )
    if not runs:
        raise StepFailed(
            f"report for '{use_case}' in '{env}': no experiment runs were given; run the experiment first"
        )
    parsed, judge_gates = split_judge_gates(parse_gates(gates) if isinstance(gates, Mapping) else tuple(gates))
    comparison = compare(runs, evaluations, primary_metric=parsed[0].metric if parsed else None)
    gate_results = evaluate_gates([g for g in parsed if g.metric not in USAGE_METRICS], comparison, skipped)
    gate_results += judge_gate_results(judge_gates, judges)
    usage_results, usage_shown = usage_threshold_results([g for g in parsed if g.metric in USAGE_METRICS],
                                                         comparison, calls or {})
    gate_results += usage_results
    checks = check_against_production(gates, comparison, production or ProductionBaseline(
        "", unavailable="no production model was looked up for this report"), calls or {}) if isinstance(
        gates, Mapping) else None
    failures = group_failures(failed_lines_of(runs, evaluations), context or FailureContext(use_case, env))

    created = (now or datetime.now(UTC)).astimezone(UTC)
    env_folder = Path(out_root) / use_case / env
    folder = _new_folder(env_folder, created.strftime("%Y%m%d-%H%M%S"))
    summary = build_summary(use_case, env, created, folder.name, comparison, gate_results, failures,
                            [str(skip) for skip in skipped])
    against_production = section_json(checks, usage_shown)
    if against_production is not None:
        summary["against_production"] = against_production
    summary["judges"] = judges_section(judges, baseline_judges(env_folder))  # before `latest` moves here

    result = ReportResult(
        folder=folder,
        results_csv=folder / "results.csv",
        metrics_csv=folder / "metrics.csv",
        html=folder / "report.html",
        summary_md=folder / "summary.md",
        summary_json=folder / "summary.json",
        created=created,
        comparison=comparison,
        gate_results=gate_results,
        failures=failures,
        summary=summary,
        production=checks,
        line_trials_csv=folder / "line_trials.csv" if summary["trials"] is not None else None,
    )
    write_results_csv(result.results_csv, comparison.runs)
    write_metrics_csv(result.metrics_csv, comparison)
    if result.line_trials_csv is not None:
        write_line_trials_csv(result.line_trials_csv, summary["trials"])
        write_pass_at_k_csv(folder / "pass_at_k.csv", summary["trials"])
    result.summary_json.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    result.summary_md.write_text(render_markdown(summary), encoding="utf-8")
    # The HTML renderer pulls in Jinja2; import it only when a report is written.
    from llmops.report.html import render_html

    result.html.write_text(render_html(summary, comparison, gate_results, against_production), encoding="utf-8")
    # Point `latest` here only now that every file is complete.
    _point_latest(env_folder, folder.name)
    logger.info("report written to %s (gates %s)", folder, "passed" if result.gates_passed else "failed")
    return result


def production_failure_message(message: str | None, production: ProductionGates | None) -> str | None:
    """The gate failure message with the failed checks against production added."""
    from llmops.report.production_gates import failure_lines

    failed = failure_lines(production) if production else []
    if not failed:
        return message
    head = f"{len(failed)} of {len(production.checks) if production else 0} checks against production failed:"
    return "\n".join(filter(None, [message, head, *failed]))


def _new_folder(env_folder: Path, stamp: str) -> Path:
    """A fresh folder named by the UTC time; a second report in the same second gets a -2, -3... suffix."""
    env_folder.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, 1000):
        folder = env_folder / (stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise StepFailed(f"{env_folder}: 999 reports already exist for time {stamp}; remove old report folders")


def _point_latest(env_folder: Path, folder_name: str) -> None:
    """Swap both pointers atomically (write aside, then rename) so readers never see half of one."""
    temporary_file = env_folder / f".{LATEST_FILE}.{folder_name}.tmp"
    temporary_file.write_text(folder_name + "\n", encoding="utf-8")
    os.replace(temporary_file, env_folder / LATEST_FILE)
    temporary_link = env_folder / f".{LATEST_LINK}.{folder_name}.tmp"
    try:
        if temporary_link.is_symlink():
            temporary_link.unlink()
        os.symlink(folder_name, temporary_link, target_is_directory=True)
        os.replace(temporary_link, env_folder / LATEST_LINK)
    except OSError as error:
        # Windows without developer mode cannot make symlinks; the LATEST file still names the folder.
        logger.warning(
            "could not point %s at %s (%s); read %s instead", LATEST_LINK, folder_name, error, LATEST_FILE
        )
