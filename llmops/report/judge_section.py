"""The judges part of a report: each judge pinned (model, provider, prompt hash), its agreement with its human
labels, and a warning for every judge that changed since the baseline's report.

The baseline's report is the report this one follows: the one `latest` named in the same
`<reports>/<use case>/<env>/` folder before this one was written (on CI, the folder restored from main's last
run). A judge is compared there by its flow's name; a judge that report did not pin is not compared.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from llmops.backends.content_hash import file_sha256
from llmops.config.flow_base import Flow
from llmops.config.judge_calibration import LABELS_FILE
from llmops.config.judge_flow import prompt_sha256
from llmops.report.formatting import interval, number
from llmops.report.judge_agreement import JudgeRecord, read_record
from llmops.report.kappa import METHOD

_PINNED = ("model", "provider", "prompt_sha256")


def current_records(state_dir: Path, use_case: str, env: str, flows: Sequence[Flow], rerun: str) -> list[JudgeRecord]:
    """The records of these judges, each marked stale when its prompt or labels changed since it was made;
    a judge never calibrated nor pinned is listed with what to run (`rerun`)."""
    records = []
    for flow in flows:
        record = read_record(state_dir, use_case, env, flow.name)
        if record is None:
            records.append(JudgeRecord(flow.name, "", "", prompt_sha256(flow), None,
                                       stale=f"no record of this judge yet; run: {rerun}"))
            continue
        labels = flow.folder / LABELS_FILE
        changed = []
        if record.prompt_sha256 != prompt_sha256(flow):
            changed.append("its prompt")
        if record.agreement is not None and (not labels.is_file()
                                             or file_sha256(labels) != record.agreement.labels_sha256):
            changed.append(f"its {LABELS_FILE}")
        if changed:
            record = replace(record, stale=f"{' and '.join(changed)} changed since it was calibrated; run: {rerun}")
        records.append(record)
    return records


def baseline_judges(env_folder: Path) -> tuple[str, list[dict[str, Any]]] | None:
    """(folder name, judge pins) of the report `latest` names in `env_folder`; None when there is none."""
    latest = env_folder / "LATEST"
    if not latest.is_file():
        return None
    name = latest.read_text(encoding="utf-8").strip()
    summary = env_folder / name / "summary.json"
    try:
        judges = json.loads(summary.read_text(encoding="utf-8")).get("judges") or {}
    except (OSError, ValueError):
        return None
    return name, list(judges.get("pins") or [])


def judge_changes(records: Sequence[JudgeRecord], baseline: tuple[str, list[dict[str, Any]]] | None) -> list[str]:
    """One warning per judge whose model, provider or prompt differs from the baseline report's."""
    if baseline is None:
        return []
    name, pins = baseline
    before = {pin.get("flow"): pin for pin in pins}
    warnings = []
    for record in records:
        old = before.get(record.flow)
        if old is None or not record.provider:
            continue
        changes = [f"{key.replace('_sha256', ' hash')} {_short(key, old.get(key))} -> {_short(key, record.pin[key])}"
                   for key in _PINNED if old.get(key) != record.pin[key]]
        if changes:
            warnings.append(f"judge '{record.flow}' changed since the baseline report {name}: {'; '.join(changes)}; "
                            "its scores are not comparable with that report's")
    return warnings


def judges_section(records: Sequence[JudgeRecord], baseline: tuple[str, list[dict[str, Any]]] | None) -> dict[str, Any]:
    """summary.json's `judges`."""
    return {
        "pins": [record.to_dict() for record in records],
        "baseline_report": baseline[0] if baseline else None,
        "changed": judge_changes(records, baseline),
        "method": METHOD,
    }


def _short(key: str, value: object) -> str:
    text = str(value or "none")
    return text[:12] if key == "prompt_sha256" else text


def agreement_text(agreement: dict[str, Any] | None) -> str:
    """'kappa 0.667 [0.353, 0.980], raw agreement 0.833, n=24' or why there is none."""
    if agreement is None:
        return "no calibration set"
    failed = f", {agreement['failed_lines']} lines failed" if agreement["failed_lines"] else ""
    if agreement["kappa"] is None:
        return f"kappa undefined ({agreement['note']}), n={agreement['n']}{failed}"
    return (f"kappa {number(agreement['kappa'])} {interval(agreement['ci_low'], agreement['ci_high'])}, "
            f"raw agreement {number(agreement['observed_agreement'])}, n={agreement['n']}{failed}")


def markdown_lines(section: dict[str, Any] | None) -> list[str]:
    """The judges block of summary.md: a line per judge, then the warnings."""
    if not section or not section["pins"]:
        return []
    lines = ["", "**LLM judges** (agreement with human labels):"]
    for pin in section["pins"]:
        who = (f"{pin['model']} via {pin['provider']}, prompt {pin['prompt_sha256'][:12]}" if pin["provider"]
               else f"prompt {pin['prompt_sha256'][:12]}")
        stale = f" ⚠️ {pin['stale']}" if pin["stale"] else ""
        lines.append(f"- `{pin['flow']}` ({who}): {agreement_text(pin['agreement'])}{stale}")
    lines += [f"- ⚠️ {warning}" for warning in section["changed"]]
    return lines
