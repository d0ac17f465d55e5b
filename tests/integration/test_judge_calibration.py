"""An LLM judge with a calibration set, through the real CLI, gateway and prompt flow, answered by a loopback
upstream: its agreement with the human labels in every report, the calibration run reused on a rerun, the
judge_kappa gate (exit 3), the warning when the judge changed since the baseline's report, and validation."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from llmops.config.use_case import load_use_case
from llmops.config.validate import check_use_case
from llmops.config.workspace import Workspace
from tests.support.cli import llmops
from tests.support.llm_use_case import write_connection
from tests.support.loopback_upstream import LoopbackUpstream
from tests.support.mini_use_case import edit_json, write_use_case

pytestmark = pytest.mark.timeout(300)
RUN = ("run", "-u", "mini", "-e", "pr", "--provider", "openai_compatible")

JUDGE_DAG = """\
inputs:
  url: {type: string}
  prediction: {type: string}
outputs:
  verdict:
    type: double
    reference: ${parse.output}
nodes:
- name: ask
  type: llm
  source: {type: code, path: ask.jinja2}
  inputs: {deployment_name: judge-model, temperature: 0, max_tokens: 3, url: "${inputs.url}",
           prediction: "${inputs.prediction}"}
  connection: aoai
  provider: AzureOpenAI
  api: chat
  module: promptflow.tools.aoai
- name: parse
  type: python
  source: {type: code, path: parse.py}
  inputs: {answer: "${ask.output}"}
- name: share
  type: python
  source: {type: code, path: share.py}
  inputs: {verdicts: "${parse.output}"}
  aggregation: true
"""
ASK = "# system:\nIs the category right? Say yes or no.\n\n# user:\n{{url}} -> {{prediction}}\n"
PARSE_PY = """\
from promptflow.core import tool


@tool
def parse(answer: str) -> float:
    return 1.0 if "yes" in answer.lower() else 0.0
"""
SHARE_PY = """\
from promptflow.core import log_metric, tool


@tool
def share(verdicts: list) -> float:
    value = sum(verdicts) / len(verdicts)
    log_metric("judged_right", value)
    return value
"""
# The judge says yes to every apps. url; the humans agree on 6 of the 8: kappa (0.75 - 0.5) / 0.5 = 0.5.
CALIBRATION = [
    {"url": "https://apps.example.com/1", "prediction": "App", "human_label": 1},
    {"url": "https://apps.example.com/2", "prediction": "App", "human_label": 1},
    {"url": "https://apps.example.com/3", "prediction": "App", "human_label": 1},
    {"url": "https://apps.example.com/4", "prediction": "None", "human_label": 0},
    {"url": "https://example.com/5", "prediction": "None", "human_label": 0},
    {"url": "https://example.com/6", "prediction": "None", "human_label": 0},
    {"url": "https://example.com/7", "prediction": "None", "human_label": 0},
    {"url": "https://example.com/8", "prediction": "App", "human_label": 1, "why": "a note the flow never sees"},
]


class JudgingUpstream(LoopbackUpstream):
    """Answers yes for an apps. url, no otherwise."""

    def answer(self, path: str, headers: dict[str, str], raw_body: bytes) -> tuple[int, dict[str, str], bytes]:
        status, extra, body = super().answer(path, headers, raw_body)
        completion = json.loads(body)
        asked = json.loads(raw_body)["messages"][-1]["content"]
        completion["choices"][0]["message"]["content"] = "yes" if "apps." in asked else "no"
        return status, extra, json.dumps(completion).encode()


def write_judged_use_case(root: Path, upstream: LoopbackUpstream | None,
                          gates: dict[str, str] | None = None) -> Path:
    """The mini use case with the LLM judge `judge` beside its evaluation; its connection `aoai` is `upstream`."""
    folder = write_use_case(root)
    judge = folder / "flows/judge"
    judge.mkdir(parents=True)
    for name, text in {"flow.dag.yaml": JUDGE_DAG, "ask.jinja2": ASK, "parse.py": PARSE_PY, "share.py": SHARE_PY,
                       "calibration.jsonl": "".join(json.dumps(r) + "\n" for r in CALIBRATION),
                       "calibration.json": json.dumps({"verdict": "verdict"})}.items():
        (judge / name).write_text(text, encoding="utf-8")

    def configure(config: dict[str, Any]) -> None:
        config["envs"][0]["EVALUATION_FLOW_PATH"] = "flows/eval,flows/judge"
        config["envs"][0]["GATES"] = gates or {}

    edit_json(folder / "llmops_config.json", configure)
    edit_json(folder / "configs/mapping_config.json", lambda m: m["evaluation"].update(
        {"judge": {"url": "${data.url}", "prediction": "${run.outputs.category}"}}))
    if upstream is not None:
        write_connection(root, upstream)
    return folder


def summary(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "reports/mini/pr/latest/summary.json").read_text(encoding="utf-8"))
    return data


def test_every_report_gives_the_judges_agreement_and_pins_it_and_a_rerun_reuses_the_calibration(
        tmp_path: Path) -> None:
    with JudgingUpstream() as upstream:
        folder = write_judged_use_case(tmp_path, upstream)
        first = llmops(tmp_path, *RUN)
        assert first.code == 0, first.err
        # 4 judged lines for each of the 2 variants + 8 calibration lines.
        assert len(upstream.requests) == 16
        assert "mini_pr_calibration_mini_judge_calibration" in first.out
        line = ("judge judge (judge-model via openai_compatible, prompt {}): kappa 0.500 [-0.100, 1.000], raw "
                "agreement 0.750, n=8")
        prompt_hash = hashlib.sha256(b"ask.jinja2\0" + hashlib.sha256(ASK.encode()).digest()).hexdigest()
        assert line.format(prompt_hash[:12]) in first.out
        pin = summary(tmp_path)["judges"]["pins"][0]
        assert {k: pin[k] for k in ("flow", "model", "provider", "prompt_sha256")} == {
            "flow": "judge", "model": "judge-model", "provider": "openai_compatible", "prompt_sha256": prompt_hash}
        agreement = pin["agreement"]
        assert (agreement["kappa"], agreement["observed_agreement"], agreement["n"]) == (
            pytest.approx(0.5), pytest.approx(0.75), 8)
        assert agreement["standard_error"] == pytest.approx(0.306186, abs=1e-6)  # the FCE formula on this table
        assert agreement["file"] == "use_cases/mini/flows/judge/calibration.jsonl"
        latest = tmp_path / "reports/mini/pr/latest"
        markdown = (latest / "summary.md").read_text(encoding="utf-8")
        assert (f"- `judge` (judge-model via openai_compatible, prompt {prompt_hash[:12]}): kappa 0.500 "
                "[-0.100, 1.000], raw agreement 0.750, n=8") in markdown
        html = (latest / "report.html").read_text(encoding="utf-8")
        assert "<h2>LLM judges</h2>" in html and "raw agreement 0.750, n=8" in html and prompt_hash[:12] in html
        assert summary(tmp_path)["judges"]["changed"] == []

        again = llmops(tmp_path, *RUN)
        assert again.code == 0, again.err
        assert len(upstream.requests) == 16  # nothing new asked: every run, the calibration's too, reused
        assert "mini_pr_calibration_mini_judge_calibration" in again.out and "(reused)" in again.out
        assert summary(tmp_path)["judges"]["pins"][0]["agreement"]["run_id"] == agreement["run_id"]
        assert summary(tmp_path)["judges"]["baseline_report"] is not None
        assert summary(tmp_path)["judges"]["changed"] == []

        # A label corrected: the calibration runs again (its questions answered from the gateway's cache), and
        # kappa moves.
        labels = folder / "flows/judge/calibration.jsonl"
        fixed = [{**r, "human_label": 0} if r["url"].endswith("/8") else r for r in CALIBRATION]
        labels.write_text("".join(json.dumps(r) + "\n" for r in fixed), encoding="utf-8")
        third = llmops(tmp_path, *RUN)
        assert third.code == 0, third.err
        assert "kappa 0.750" in third.out and "raw agreement 0.875" in third.out


def test_the_report_warns_when_the_judge_changed_since_the_baseline_report(tmp_path: Path) -> None:
    with JudgingUpstream() as upstream:
        folder = write_judged_use_case(tmp_path, upstream)
        assert llmops(tmp_path, *RUN).code == 0
        before = summary(tmp_path)["judges"]["pins"][0]["prompt_sha256"]
        (folder / "flows/judge/ask.jinja2").write_text(ASK.replace("Say yes or no", "Answer yes or no"),
                                                       encoding="utf-8")
        changed = llmops(tmp_path, *RUN)
        assert changed.code == 0, changed.err
    section = summary(tmp_path)["judges"]
    after = section["pins"][0]["prompt_sha256"]
    assert after != before
    [warning] = section["changed"]
    assert warning == (f"judge 'judge' changed since the baseline report {section['baseline_report']}: prompt hash "
                       f"{before[:12]} -> {after[:12]}; its scores are not comparable with that report's")
    markdown = (tmp_path / "reports/mini/pr/latest/summary.md").read_text(encoding="utf-8")
    assert f"- ⚠️ {warning}" in markdown


def test_a_judge_kappa_gate_below_the_agreement_fails_with_exit_3(tmp_path: Path) -> None:
    with JudgingUpstream() as upstream:
        folder = write_judged_use_case(tmp_path, upstream, gates={"accuracy": ">= 0.5", "judge_kappa": ">= 0.6"})
        failed = llmops(tmp_path, *RUN)
        assert failed.code == 3, failed.err
        assert ("judge_kappa >= 0.6 on judge: kappa 0.500 [-0.100, 1.000], raw agreement 0.750, n=8; needs >= 0.6"
                in failed.err)
        assert "gate judge_kappa >= 0.6 on judge: 0.5 -> FAIL" in failed.out
        assert "gate accuracy >= 0.5 on defaults: 0.75 -> pass" in failed.out  # still the primary metric
        assert summary(tmp_path)["primary_metric"] == "accuracy"
        edit_json(folder / "llmops_config.json", lambda c: c["envs"][0].update(GATES={"judge_kappa": ">= 0.4"}))
        passed = llmops(tmp_path, "report", "-u", "mini", "-e", "pr")
        assert passed.code == 0, passed.err
        assert "gate judge_kappa >= 0.4 on judge: 0.5 -> pass" in passed.out
        # The prompt edited but the judge not calibrated again: its kappa no longer stands for it.
        (folder / "flows/judge/ask.jinja2").write_text(ASK + "Be strict.\n", encoding="utf-8")
        stale = llmops(tmp_path, "report", "-u", "mini", "-e", "pr")
        assert stale.code == 3
        assert ("needs >= 0.4; its prompt changed since it was calibrated; run: llmops evaluate --use-case mini "
                "--env pr") in stale.err


def test_a_judge_kappa_gate_without_a_calibrated_judge_fails_saying_what_to_add(tmp_path: Path) -> None:
    with JudgingUpstream() as upstream:
        folder = write_judged_use_case(tmp_path, upstream, gates={"judge_kappa": ">= 0.6"})
        for name in ("calibration.jsonl", "calibration.json"):
            (folder / "flows/judge" / name).unlink()
        failed = llmops(tmp_path, *RUN)
    assert failed.code == 3
    assert ("judge_kappa >= 0.6: no judge of this report has a calibration set (judges: judge); add "
            "calibration.jsonl and calibration.json to the judge's flow folder") in failed.err
    pin = summary(tmp_path)["judges"]["pins"][0]
    assert pin["agreement"] is None and pin["provider"] == "openai_compatible"  # pinned all the same


@pytest.mark.parametrize(("change", "problem"), [
    (lambda judge: (judge / "calibration.json").unlink(),
     "use_cases/mini/flows/judge/calibration.jsonl: no calibration.json beside it names the judge's verdict; add "
     "calibration.json with {\"verdict\": \"<output>\"} (outputs: verdict)"),
    (lambda judge: (judge / "calibration.json").write_text('{"verdict": "score"}'),
     "use_cases/mini/flows/judge/calibration.json: verdict: 'score' is not an output of flow 'judge' (outputs: "
     "verdict)"),
    (lambda judge: (judge / "calibration.json").write_text('{"verdict": "verdict", "label": "x"}'),
     "use_cases/mini/flows/judge/calibration.json: label:"),
    (lambda judge: (judge / "calibration.jsonl").write_text('{"url": "u", "prediction": "App"}\n\n'
                                                            '{"url": "u", "prediction": "App", "human_label": 1}\n'
                                                            '{"prediction": "None", "human_label": 0}\n'),
     "use_cases/mini/flows/judge/calibration.jsonl: line 1.human_label: missing or not a single value; give the "
     "human's verdict, e.g. 1 or 0"),
    (lambda judge: (judge / "calibration.jsonl").write_text('{"url": "u", "prediction": "App", "human_label": 1}\n\n'
                                                            '{"prediction": "None", "human_label": 0}\n'),
     "use_cases/mini/flows/judge/calibration.jsonl: line 3: no value for flow input(s) url of 'judge'; add them "
     "as columns"),
    (lambda judge: (judge / "calibration.jsonl").write_text('{"url": "u", "prediction": "App", "human_label": 1}\n'),
     "use_cases/mini/flows/judge/calibration.jsonl: human_label: every line has the label '1'; agreement needs "
     "cases of at least two labels"),
    (lambda judge: (judge / "calibration.jsonl").unlink(),
     "use_cases/mini/flows/judge/calibration.json: no calibration.jsonl beside it; add the labelled lines"),
])
def test_validate_names_the_file_the_key_and_the_fix(tmp_path: Path, change: Any, problem: str) -> None:
    folder = write_judged_use_case(tmp_path, None)
    change(folder / "flows/judge")
    problems = [str(p) for p in check_use_case(load_use_case(Workspace.find(tmp_path), "mini", check=False))]
    assert any(p.startswith(problem) for p in problems), problems
    done = llmops(tmp_path, "validate", "--use-case", "mini")
    assert done.code == 1 and problem in done.out + done.err


def test_calibration_files_beside_a_flow_that_calls_no_llm_are_refused(tmp_path: Path) -> None:
    folder = write_use_case(tmp_path)
    (folder / "flows/eval/calibration.jsonl").write_text('{"groundtruth": "a", "prediction": "a", "human_label": 1}\n')
    problems = [str(p) for p in check_use_case(load_use_case(Workspace.find(tmp_path), "mini", check=False))]
    assert problems == ["use_cases/mini/flows/eval/calibration.jsonl: flow 'eval' calls no LLM, so it has no judge "
                        "to calibrate; remove the calibration files or put them beside an LLM judge"]
