"""The "Against production" section of summary.md and report.html, rendered from summary.json's entry."""

from __future__ import annotations

import html
from typing import Any

_NOTHING = "—"


def _fmt(value: float | None, digits: int = 3) -> str:
    return _NOTHING if value is None else f"{value:.{digits}f}"


def _figure(value: float | None) -> str:
    """Cost per line is often a small fraction of a cent: four significant digits, whatever the scale."""
    return _NOTHING if value is None else f"{value:.4g}"


def _signed(value: float | None) -> str:
    return _NOTHING if value is None else f"{value:+.3f}"


def _interval(check: dict[str, Any]) -> str:
    if check["ci_low"] is None or check["ci_high"] is None:
        return _NOTHING
    return f"[{_signed(check['ci_low'])}, {_signed(check['ci_high'])}]"


def _level(check: dict[str, Any]) -> str:
    return _NOTHING if check["confidence_level"] is None else f"{check['confidence_level']:.2%}"


def _margin(check: dict[str, Any]) -> str:
    return f"{check['margin']:.0%}" if check["margin_is_relative"] else f"{check['margin']:g}"


def _verdict(check: dict[str, Any]) -> str:
    mark = "✅" if check["passed"] else "❌"
    return f"{mark} {check['verdict'] or 'no verdict'}"


def _where(check: dict[str, Any]) -> str:
    return " · ".join(filter(None, [check["variant_label"], check["role"], check["eval_flow"], check["dataset"]]))


_CHECK_COLUMNS = ("metric", "checked", "candidate", "production", "improvement", "interval", "level", "margin",
                  "verdict", "note")


def _check_cells(check: dict[str, Any]) -> list[str]:
    return [check["metric"], _where(check), _figure(check["candidate"]), _figure(check["production"]),
            _signed(check["improvement"]), _interval(check), _level(check), _margin(check), _verdict(check),
            check["note"]]


def _usage_cells(row: dict[str, Any]) -> list[str]:
    interval = _NOTHING if row["ci_low"] is None else f"[{_figure(row['ci_low'])}, {_figure(row['ci_high'])}]"
    return [row["metric"], row["variant_label"], row["dataset"], _figure(row["value"]), interval, str(row["calls"]),
            row["note"]]


_USAGE_COLUMNS = ("metric", "variant", "dataset", "value", "95% interval", "calls", "note")


def markdown_lines(section: dict[str, Any] | None) -> list[str]:
    if not section:
        return []
    lines: list[str] = []
    if section["checks"]:
        state = "✅ passed" if section["passed"] else "❌ failed"
        lines += ["", f"**Against production: {state}** · {section['production']}", ""]
        lines += [_row(_CHECK_COLUMNS), _row(["---"] * len(_CHECK_COLUMNS))]
        lines += [_row(_check_cells(c)) for c in section["checks"]]
    if section["usage"]:
        lines += ["", "**Cost and latency** (gateway accounting; USD per line, ms per call)", ""]
        lines += [_row(_USAGE_COLUMNS), _row(["---"] * len(_USAGE_COLUMNS))]
        lines += [_row(_usage_cells(r)) for r in section["usage"]]
    return lines


def _row(cells: Any) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def html_section(section: dict[str, Any] | None) -> str:
    if not section:
        return ""
    e = html.escape
    parts = ['<section id="against-production">', "<h2>Against production</h2>"]
    if section["checks"]:
        parts.append(f'<p class="meta">{e(str(section["production"]))}</p>')
        parts.append(_table(_CHECK_COLUMNS, [_check_cells(c) for c in section["checks"]],
                            ["pass" if c["passed"] else "fail" for c in section["checks"]]))
        parts.append(f'<p class="meta">{e(section["method"])}</p>')
    if section["usage"]:
        parts.append("<h3>Cost and latency</h3>")
        parts.append(_table(_USAGE_COLUMNS, [_usage_cells(r) for r in section["usage"]], None))
    parts.append("</section>")
    return "\n".join(parts)


def _table(columns: Any, rows: list[list[str]], classes: list[str] | None) -> str:
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in columns)
    body = []
    for i, cells in enumerate(rows):
        tds = "".join(f"<td>{e(str(c))}</td>" for c in cells)
        cls = f' class="{classes[i]}"' if classes else ""
        body.append(f"<tr{cls}>{tds}</tr>")
    return f'<table class="gates"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
