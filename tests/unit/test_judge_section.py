"""The judges part of a report: the baseline's report found through `latest`, and a warning per changed judge."""

from __future__ import annotations

import json
from pathlib import Path

from llmops.report.judge_agreement import JudgeRecord
from llmops.report.judge_section import baseline_judges, judge_changes, markdown_lines

PROMPT = "a" * 64


def pin(flow: str, model: str, provider: str, prompt: str = PROMPT) -> dict[str, str]:
    return {"flow": flow, "model": model, "provider": provider, "prompt_sha256": prompt}


def test_the_baseline_is_the_report_latest_names(tmp_path: Path) -> None:
    assert baseline_judges(tmp_path) is None  # no report yet
    (tmp_path / "20261126-100000").mkdir()
    (tmp_path / "20261126-100000/summary.json").write_text(json.dumps({"judges": {"pins": [pin("j", "m", "p")]}}))
    (tmp_path / "LATEST").write_text("20261126-100000\n")
    assert baseline_judges(tmp_path) == ("20261126-100000", [pin("j", "m", "p")])
    (tmp_path / "20261126-100000/summary.json").write_text(json.dumps({"metrics": []}))  # a report made before
    assert baseline_judges(tmp_path) == ("20261126-100000", [])


def test_a_changed_model_provider_or_prompt_is_warned_about_once_per_judge() -> None:
    baseline = ("20261126-100000", [pin("judge", "qwen-0.5b", "embedded"), pin("same", "gpt-4o", "azure_openai")])
    records = [JudgeRecord("judge", "gpt-4o", "azure_openai", "b" * 64, None),
               JudgeRecord("same", "gpt-4o", "azure_openai", PROMPT, None),
               JudgeRecord("new", "gpt-4o", "azure_openai", PROMPT, None)]
    assert judge_changes(records, baseline) == [
        "judge 'judge' changed since the baseline report 20261126-100000: model qwen-0.5b -> gpt-4o; provider "
        "embedded -> azure_openai; prompt hash aaaaaaaaaaaa -> bbbbbbbbbbbb; its scores are not comparable with "
        "that report's"]
    assert judge_changes(records, None) == []


def test_markdown_lists_each_judge_then_the_warnings() -> None:
    unrecorded = JudgeRecord("other", "", "", PROMPT, None, stale="no record of this judge yet; run: x")
    section = {"pins": [JudgeRecord("judge", "qwen-1.5b", "embedded", PROMPT, None).to_dict(), unrecorded.to_dict()],
               "changed": ["judge 'judge' changed"]}
    assert markdown_lines(section) == [
        "", "**LLM judges** (agreement with human labels):",
        "- `judge` (qwen-1.5b via embedded, prompt aaaaaaaaaaaa): no calibration set",
        "- `other` (prompt aaaaaaaaaaaa): no calibration set ⚠️ no record of this judge yet; run: x",
        "- ⚠️ judge 'judge' changed"]
    assert markdown_lines({"pins": [], "changed": []}) == []
