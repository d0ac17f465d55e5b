"""The CSV files of repeated trials (written with TRIALS > 1), from summary.json's "trials" object.

line_trials.csv: one row per line per variant and metric. 0/1 metrics: the trials with a value, how many passed,
the pass rate and whether the line is flaky (its verdict flips across trials). Other metrics: the line's mean,
min and max over its trials.
pass_at_k.csv: one row per variant, 0/1 metric, measure (pass@k or pass^k) and k, with its 95% interval and the
lines it is over.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

HEADER = ("variant_label", "eval_flow", "dataset", "metric", "line_index", "trials", "passes", "pass_rate", "flaky",
          "mean", "min", "max")


def write_line_trials_csv(path: Path, trials: dict[str, Any]) -> int:
    """Write the per-line rows of summary.json's "trials" object; returns the number of rows."""
    rows = [
        [variant["variant_label"], metric["eval_flow"], metric["dataset"], metric["metric"], line["line_index"],
         line["trials"], line.get("passes", ""), line.get("pass_rate", ""), _flag(line.get("flaky")),
         line.get("mean", line.get("pass_rate", "")), line.get("min", ""), line.get("max", "")]
        for metric in trials["metrics"]
        for variant in metric["variants"]
        for line in variant["lines"]
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return len(rows)


PASS_AT_K_HEADER = ("variant_label", "eval_flow", "dataset", "metric", "measure", "k", "value", "ci_low", "ci_high",
                    "lines")


def write_pass_at_k_csv(path: Path, trials: dict[str, Any]) -> int:
    """Write pass@k and pass^k of every variant and 0/1 metric; returns the number of rows."""
    rows = [
        [variant["variant_label"], metric["eval_flow"], metric["dataset"], metric["metric"], measure, e["k"],
         _blank(e["value"]), _blank(e["ci_low"]), _blank(e["ci_high"]), e["lines"]]
        for metric in trials["metrics"]
        for variant in metric["variants"] if variant["binary"]
        for measure, key in (("pass@k", "pass_at_k"), ("pass^k", "pass_hat_k"))
        for e in variant[key]
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(PASS_AT_K_HEADER)
        writer.writerows(rows)
    return len(rows)


def _blank(value: object) -> object:
    return "" if value is None else value


def _flag(value: object) -> str:
    return "" if value is None else ("yes" if value else "no")
