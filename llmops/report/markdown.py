"""summary.md: the PR comment. Rendered from summary.json's content and kept to MAX_LINES lines.

A metric with per-line values gets its own table (intervals, paired deltas, significance); metrics
with only an aggregate (per-class F1 and the like) share one compact table per evaluation flow and
dataset, a row each. When everything does not fit, tables keep the baseline, the best variant and
the highest values, and later tables are dropped, each cut announced in a note.
"""

from __future__ import annotations

from typing import Any

from llmops.report import formatting as fmt
from llmops.report.failures import RETRIED, example_text
from llmops.report.gates import shown_value
from llmops.report.judge_section import markdown_lines as judge_lines
from llmops.report.production_render import markdown_lines
from llmops.report.trials_markdown import trials_table

MAX_LINES = 60
MAX_TABLE_ROWS = 8
MAX_AGGREGATE_ROWS = 30
MAX_AGGREGATE_COLUMNS = 4  # variants shown side by side in a compact table
MAX_GATE_LINES = 5
MAX_FAILURE_GROUPS = 5
_TABLE_HEADER = [
    "| variant | value [95% CI] | Δ vs baseline [95% CI] | significance | gate |",
    "|---|---|---|---|---|",
]
_SHORT_METHOD = (
    "<sub>95% intervals: Wilson for 0/1 metrics, Student t otherwise. Deltas pair each variant with the "
    "baseline on the same lines and are significant when their interval excludes 0; exact McNemar p for "
    "0/1 metrics.</sub>"
)


def render_markdown(summary: dict[str, Any]) -> str:
    head = [summary["marker"], f"### llmops report · {summary['use_case']} · {summary['env']}", ""]
    head += [_gate_verdict(summary["gates"], summary.get("against_production")), "", _context(summary)]
    head += _failed_gates(summary["gates"]["results"])
    head += judge_lines(summary.get("judges"))
    head += _skipped(summary.get("skipped_evaluations", []))
    head += _failures(summary["failures"])
    head += markdown_lines(summary.get("against_production"))
    footer = ["", _lines_and_cost(summary), "", _SHORT_METHOD]
    omission_note = 2  # a blank line and the note, kept free in case tables must be dropped
    trials = trials_table(summary.get("trials"), MAX_TABLE_ROWS)  # shown after the metrics, its room kept first
    available = MAX_LINES - len(head) - len(footer) - omission_note - len(trials)
    body: list[str] = []
    omitted = 0
    for groups in _tables(summary["metrics"]):
        if groups[0]["has_line_values"]:
            rows = min(MAX_TABLE_ROWS, available - 4)  # blank, heading, header, separator
            block = _table(groups[0], rows) if rows >= 2 else []
            shown = 1 if block else 0
        else:
            rows = min(MAX_AGGREGATE_ROWS, len(groups), available - 5)  # and a note line
            block = _aggregate_table(groups, rows) if rows >= 1 else []
            shown = rows if block else 0
        body += block
        available -= len(block)
        omitted += len(groups) - shown
    if omitted:
        body += ["", f"*{omitted} more metrics not shown: see report.html or summary.json.*"]
    body += trials
    return "\n".join(head + body + footer) + "\n"


def _tables(groups: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """A table per metric with per-line values (it has intervals), in their order; then one compact table per
    evaluation flow and dataset for the aggregate-only metrics (per-class F1 and the like), one row each."""
    tables: list[list[dict[str, Any]]] = [[g] for g in groups if g["has_line_values"]]
    aggregates: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for group in groups:
        if not group["has_line_values"]:
            aggregates.setdefault((group["eval_flow"], group["dataset"]), []).append(group)
    return tables + list(aggregates.values())


def _gate_verdict(gates: dict[str, Any], production: dict[str, Any] | None) -> str:
    """The verdict of every gate, the fixed thresholds and the checks against production together, as the exit code
    has it."""
    against = (production or {}).get("checks") or []
    checked = gates["checked"] + len(against)
    failed = gates["failed"] + sum(1 for check in against if not check.get("passed"))
    if checked == 0:
        return "**Quality gates:** none configured"
    if failed == 0:
        return f"**Quality gates: ✅ passed** ({checked} checks)"
    return f"**Quality gates: ❌ {failed} of {checked} checks failed**"


def _context(summary: dict[str, Any]) -> str:
    datasets = ", ".join(f"{_code(d['name'])} v{d['version']}" for d in summary["datasets"])
    parts = [f"Datasets: {datasets}", f"{summary['variant_count']} variants"]
    if summary["baseline_variant"] is not None:
        parts.append(f"baseline {_code(summary['baseline_variant'])}")
    best = summary["best_variants"]
    if len(best) == 1:
        parts.append(f"best: {_code(best[0]['variant_label'])}")
    elif best:
        parts.append(
            "best: " + ", ".join(f"{_code(b['variant_label'])} on {_code(b['dataset'])}" for b in best)
        )
    parts.append(summary["created_utc"].replace("T", " ").replace("Z", " UTC"))
    parts.append(f"report {_code(summary['report_folder'])}")
    return " · ".join(parts)


def _failed_gates(results: list[dict[str, Any]]) -> list[str]:
    failed = [r for r in results if not r["passed"]]
    if not failed:
        return []
    lines = [""]
    for result in failed[:MAX_GATE_LINES]:
        if not result["variant_label"]:
            on = f" on {result['eval_flow']}" if result["eval_flow"] else ""
            lines.append(f"- ❌ {_code(result['metric'])} {result['expression']}{on}: {result['note']}")
            continue
        lines.append(
            f"- ❌ {_code(result['metric'])} of {_code(result['variant_label'])} ({result['role']}; "
            f"{result['eval_flow']}, {_code(result['dataset'])}): {shown_value(result['value'], result['note'])}, "
            f"needs {result['expression']}"
        )
    if len(failed) > MAX_GATE_LINES:
        lines.append(f"- … and {len(failed) - MAX_GATE_LINES} more failed checks in report.html")
    return lines


def _skipped(evaluations: list[str]) -> list[str]:
    """A line per evaluation the env's data could not feed, saying why."""
    return ["", *(f"- ⏭️ {text}" for text in evaluations)] if evaluations else []


def _failures(groups: list[dict[str, Any]]) -> list[str]:
    """A line per cause: the lines it failed, an example, the cause and the fix when one is known."""
    if not groups:
        return []
    lines = ["", f"**Failed lines by cause** ({RETRIED}):"]
    for group in groups[:MAX_FAILURE_GROUPS]:
        example = group["example"]
        where = example_text(_code(example["variant_label"]), _code(example["dataset"]), example["line_index"])
        fix = f" → **fix:** {group['fix']}" if group["fix"] else ""
        lines.append(f"- {fmt.lines(group['lines'])}, e.g. {where}: {_code(group['cause'])}{fix}")
    rest = groups[MAX_FAILURE_GROUPS:]
    if rest:
        lines.append(f"- … and {len(rest)} more causes ({fmt.lines(sum(g['lines'] for g in rest))}) in report.html")
    return lines


def _table(group: dict[str, Any], max_rows: int) -> list[str]:
    title = group["metric"] + (" (primary)" if group["is_primary"] else "")
    heading = f"#### {_cell(title)} · {_cell(group['eval_flow'])} · {_cell(group['dataset'])}"
    variants = group["variants"]
    kept = variants if len(variants) <= max_rows else _most_telling(variants, max_rows - 1)
    rows = [_row(v, group["has_line_values"]) for v in kept]
    if len(kept) < len(variants):
        rows.append(f"| *… {len(variants) - len(kept)} more variants in report.html* | | | | |")
    return ["", heading, *_TABLE_HEADER, *rows]


def _most_telling(variants: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The baseline and the best, then the highest values; shown in their original order."""
    ranked = sorted(
        range(len(variants)),
        key=lambda i: (
            not variants[i]["is_baseline"],
            not variants[i]["is_best"],
            -(variants[i]["value"] if variants[i]["value"] is not None else float("-inf")),
        ),
    )
    return [variants[i] for i in sorted(ranked[:limit])]


def _aggregate_table(groups: list[dict[str, Any]], max_rows: int) -> list[str]:
    """Metrics as rows, variants as columns: the value, and its difference from the baseline in brackets."""
    first = groups[0]
    variants = first["variants"]
    kept = variants if len(variants) <= MAX_AGGREGATE_COLUMNS else _most_telling(variants, MAX_AGGREGATE_COLUMNS)
    labels = [v["variant_label"] for v in kept]
    heading = (f"#### {_cell(first['eval_flow'])} · {_cell(first['dataset'])} · aggregate metrics "
               "(no per-line values, so no intervals)")
    rows = ["| metric | " + " | ".join(_cell(_variant_name(v)) for v in kept) + " |",
            "|---" * (len(kept) + 1) + "|"]
    for group in groups[:max_rows]:
        by_label = {v["variant_label"]: v for v in group["variants"]}
        rows.append(f"| {_cell(group['metric'])} | " + " | ".join(_aggregate_cell(by_label.get(label))
                                                                   for label in labels) + " |")
    notes = []
    if len(groups) > max_rows:
        notes.append(f"{len(groups) - max_rows} more metrics")
    if len(kept) < len(variants):
        notes.append(f"{len(variants) - len(kept)} more variants")
    if notes:
        rows.append(f"| *… {' and '.join(notes)} in report.html* |" + " |" * len(kept))
    return ["", heading, *rows]


def _aggregate_cell(variant: dict[str, Any] | None) -> str:
    if variant is None:
        return fmt.NOTHING
    text = fmt.number(variant["value"])
    if variant["delta"] is not None:
        text += f" ({fmt.signed(variant['delta']['mean'])})"
    for gate in variant["gates"]:
        text += (" ✅ " if gate["passed"] else " ❌ ") + gate["expression"]
    return _cell(text)


def _variant_name(variant: dict[str, Any]) -> str:
    name = _code(variant["variant_label"])
    if variant["is_baseline"]:
        name += " (baseline)"
    if variant["is_best"]:
        name += " ★ best"
    return name


def _row(variant: dict[str, Any], has_line_values: bool) -> str:
    name = _variant_name(variant)
    value = fmt.number(variant["value"])
    if variant["ci_low"] is not None:
        value += " " + fmt.interval(variant["ci_low"], variant["ci_high"])
    elif variant["note"]:
        value += f" ({variant['note']})"
    delta, significance = fmt.NOTHING, fmt.NOTHING
    if variant["delta"] is not None:
        d = variant["delta"]
        delta = fmt.signed(d["mean"])
        if d["ci_low"] is not None:
            delta += " " + fmt.interval(d["ci_low"], d["ci_high"], signed_values=True)
        significance = d["verdict"] if not d["note"] else d["note"]
        if d["mcnemar_p"] is not None:
            significance += f" · McNemar p{_p_text(d['mcnemar_p'])}"
    gates = (
        ", ".join(("✅ " if g["passed"] else "❌ ") + g["expression"] for g in variant["gates"])
        or fmt.NOTHING
    )
    return f"| {_cell(name)} | {value} | {delta} | {_cell(significance)} | {gates} |"


def _lines_and_cost(summary: dict[str, Any]) -> str:
    lines = summary["lines"]
    text = f"**Lines:** {fmt.count(lines['failed'])} of {fmt.count(lines['total'])} failed in experiment runs"
    text += f", {fmt.count(lines['evaluation_failed'])} in evaluation runs."
    usage = summary["usage"]
    if usage is None:
        return text + " **Cost:** no LLM usage recorded."
    tokens = usage["prompt_tokens"] + usage["completion_tokens"]
    return (
        text + f" **Cost:** {fmt.money(usage['cost_usd'])} for {fmt.count(usage['calls'])} LLM calls, "
        f"{fmt.count(tokens)} tokens, {fmt.count(usage['cache_hits'])} cache hits."
    )


def _code(text: str) -> str:
    return "`" + str(text).replace("`", "'") + "`"


def _cell(text: str) -> str:
    """A table cell: a pipe would end the cell, even inside a code span."""
    return text.replace("|", "\\|")


def _p_text(p: float) -> str:
    """'=0.250' or '<0.001', to follow 'p'."""
    text = fmt.p_value(p)
    return text if text.startswith("<") else f"={text}"
