"""The repeated-trials table of summary.md (the PR comment), from summary.json's "trials" object.

One row per variant and 0/1 metric: pass@1 (the mean), pass@k and pass^k for k = the trials, with their
intervals, and the flaky lines with their passes (line 3: 1/3). Metrics that are not 0/1 have no pass@k; their
per-line means are in line_trials.csv and report.html.
"""

from __future__ import annotations

from typing import Any

from llmops.report import formatting as fmt

MAX_FLAKY_SHOWN = 6  # per cell; the rest are counted


def trials_table(trials: dict[str, Any] | None, max_rows: int) -> list[str]:
    """The section's lines (a blank line first), at most `max_rows` table rows; [] when there is nothing to show."""
    if trials is None or max_rows < 1:
        return []
    k = trials["per_line"]
    rows = [_row(metric, variant, k)
            for metric in trials["metrics"] if metric["binary"] for variant in metric["variants"]]
    if not rows:
        return ["", f"**Repeated trials:** {k} per line; no 0/1 metric, so no pass@k (see line_trials.csv)."]
    shown = rows[:max_rows]
    if len(rows) > max_rows:
        shown[-1] = f"| *… {len(rows) - max_rows + 1} more rows in report.html* | | | | | |"
    return [
        "",
        f"#### Repeated trials · {k} per line",
        f"| variant | metric | pass@1 | pass@{k} [95% CI] | pass^{k} [95% CI] | flaky lines |",
        "|---|---|---|---|---|---|",
        *shown,
        "",
        f"<sub>{k} trials per line: intervals treat a line's trials as one cluster; deltas above pair each line's "
        "mean over its trials. pass@k: at least one of k trials passes; pass^k: all k pass.</sub>",
    ]


def _row(metric: dict[str, Any], variant: dict[str, Any], k: int) -> str:
    name = _code(variant["variant_label"]) + (" (baseline)" if variant["is_baseline"] else "")
    where = f"{_code(metric['metric'])} · {metric['eval_flow']} · {_code(metric['dataset'])}"
    first = variant["pass_at_k"][0]["value"]
    flaky = _flaky(variant["flaky_lines"], len(variant["lines"]))
    return (f"| {_cell(name)} | {_cell(where)} | {fmt.number(first)} | {_with_interval(variant['pass_at_k'], k)} | "
            f"{_with_interval(variant['pass_hat_k'], k)} | {_cell(flaky)} |")


def _with_interval(estimates: list[dict[str, Any]], k: int) -> str:
    found = next((e for e in estimates if e["k"] == k), None)
    if found is None or found["value"] is None:
        return fmt.NOTHING
    text = fmt.number(found["value"])
    if found["ci_low"] is not None:
        text += " " + fmt.interval(found["ci_low"], found["ci_high"])
    return text


def _flaky(flaky: list[dict[str, Any]], lines: int) -> str:
    if not flaky:
        return f"none of {lines}"
    listed = ", ".join(f"{f['line_index']} ({f['passes']}/{f['trials']})" for f in flaky[:MAX_FLAKY_SHOWN])
    more = f", … {len(flaky) - MAX_FLAKY_SHOWN} more" if len(flaky) > MAX_FLAKY_SHOWN else ""
    return f"{len(flaky)} of {lines}: {listed}{more}"


def _code(text: str) -> str:
    return "`" + str(text).replace("`", "'") + "`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
