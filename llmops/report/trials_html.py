"""The repeated-trials section of report.html, from summary.json's "trials" object (trial_summary.py).

A table per 0/1 metric: pass@k and pass^k for every k with intervals, and the flaky lines with their passes;
then, folded, each line's pass rate (or mean, for other metrics) per variant, flaky lines marked.
"""

from __future__ import annotations

from typing import Any

from llmops.report import formatting as fmt

MAX_LINES_SHOWN = 500  # per metric in the folded per-line table; line_trials.csv has them all


def trial_sections(trials: dict[str, Any] | None) -> list[dict[str, Any]]:
    if trials is None:
        return []
    return [_section(metric, trials["per_line"]) for metric in trials["metrics"]]


def _section(metric: dict[str, Any], k: int) -> dict[str, Any]:
    variants = metric["variants"]
    return {
        "title": f"{metric['metric']} · {metric['eval_flow']} · {metric['dataset']}",
        "binary": metric["binary"],
        "ks": list(range(1, k + 1)),
        "variants": [_variant(v) for v in variants],
        "labels": [v["variant_label"] for v in variants],
        "lines": _per_line(variants),
        "more_lines": max(0, len(_line_indexes(variants)) - MAX_LINES_SHOWN),
    }


def _variant(variant: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"label": variant["variant_label"], "is_baseline": variant["is_baseline"], "is_best": False}
    if variant["binary"]:
        row["pass_at"] = [_estimate(e) for e in variant["pass_at_k"]]
        row["pass_hat"] = [_estimate(e) for e in variant["pass_hat_k"]]
        row["flaky"] = ", ".join(f"{f['line_index']} ({f['passes']}/{f['trials']})" for f in variant["flaky_lines"])
        row["flaky_count"] = f"{len(variant['flaky_lines'])} of {len(variant['lines'])}"
    return row


def _estimate(estimate: dict[str, Any]) -> dict[str, str]:
    return {"value": fmt.number(estimate["value"]), "interval": fmt.interval(estimate["ci_low"], estimate["ci_high"])}


def _line_indexes(variants: list[dict[str, Any]]) -> list[int]:
    return sorted({line["line_index"] for v in variants for line in v["lines"]})


def _per_line(variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_variant = {v["variant_label"]: {line["line_index"]: line for line in v["lines"]} for v in variants}
    rows = []
    for index in _line_indexes(variants)[:MAX_LINES_SHOWN]:
        cells = []
        for variant in variants:
            line = by_variant[variant["variant_label"]].get(index)
            cells.append(_line_cell(line))
        rows.append({"index": index, "cells": cells, "flaky": any(c["flaky"] for c in cells)})
    return rows


def _line_cell(line: dict[str, Any] | None) -> dict[str, Any]:
    if line is None:
        return {"text": fmt.NOTHING, "flaky": False}
    if "passes" in line:
        return {"text": f"{line['passes']}/{line['trials']}", "flaky": bool(line["flaky"])}
    spread = f" [{fmt.number(line['min'])}, {fmt.number(line['max'])}]" if line["min"] != line["max"] else ""
    return {"text": fmt.number(line["mean"]) + spread, "flaky": False}
