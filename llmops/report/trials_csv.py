"""line_trials.csv: one row per line per variant and metric, over its repeated trials (written with TRIALS > 1).

0/1 metrics: the trials with a value, how many passed, the pass rate and whether the line is flaky (its verdict
flips across trials). Other metrics: the line's mean, min and max over its trials.
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


def _flag(value: object) -> str:
    return "" if value is None else ("yes" if value else "no")
