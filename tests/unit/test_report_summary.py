"""summary.md: the PR comment, exact for a small experiment and within 60 lines for a large one."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from llmops.report import EvaluationRun, ExperimentRun, LineResult, UsageTotals, write_report
from llmops.report.markdown import MAX_LINES
from tests.support.sample_report import sample_experiment

NOW = datetime(2026, 11, 22, 5, 4, 8, tzinfo=UTC)


def run(label: str, correct: list[int]) -> tuple[ExperimentRun, EvaluationRun]:
    experiment = ExperimentRun(
        run_id=f"run-{label}",
        name=f"uc_pr_{label}_test_abc123",
        variant={"node": "variant_0" if label == "defaults" else "v1"},
        variant_label=label,
        is_baseline=label == "defaults",
        dataset="test",
        dataset_version=3,
        lines=tuple(LineResult(i, {"q": f"q{i}"}, {"a": "x"}, None) for i in range(len(correct))),
        usage=UsageTotals(4, 400, 40, 0.0012, 700.0, 900.0, 1),
    )
    values = tuple(float(c) for c in correct)
    evaluation = EvaluationRun(
        "evaluation", f"e-{label}", experiment.run_id, "test", {"accuracy": sum(values) / len(values)},
        {"accuracy": values}, (),
    )  # fmt: skip
    return experiment, evaluation


def test_summary_markdown_for_two_variants(tmp_path: Path) -> None:
    # z^2/n = 3.8414588 / 4 = 0.9603647, denominator 1.9603647, z / denominator = 0.9997948
    # baseline 2/4: centre (0.5 + 0.4801824) / 1.9603647 = 0.5
    #   half 0.9997948 * sqrt(0.0625 + 0.0600228) = 0.3499608 -> [0.150, 0.850]
    # node.v1 3/4: centre (0.75 + 0.4801824) / 1.9603647 = 0.6275278
    #   half 0.9997948 * sqrt(0.046875 + 0.0600228) = 0.3268860 -> [0.301, 0.954]
    # paired d = [0, 0, 1, 0]: mean 0.25, s = 0.5, t(0.975, 3) = 3.1824463
    #   half 3.1824463 * 0.5 / sqrt(4) = 0.7956116 -> [-0.546, +1.046]
    # McNemar: b = 0, c = 1 -> 2 * P(X <= 0 | n = 1) = 1
    baseline, baseline_eval = run("defaults", [1, 1, 0, 0])
    variant, variant_eval = run("node.v1", [1, 1, 1, 0])
    report = write_report(
        "uc",
        "pr",
        [baseline, variant],
        [baseline_eval, variant_eval],
        {"accuracy": ">= 0.6"},
        tmp_path,
        now=NOW,
    )
    assert report.summary_md.read_text() == (
        "<!-- llmops-report:uc:pr -->\n"
        "### llmops report · uc · pr\n"
        "\n"
        "**Quality gates: ❌ 1 of 2 checks failed**\n"
        "\n"
        "Datasets: `test` v3 · 2 variants · baseline `defaults` · best: `node.v1` · 2026-11-22 05:04:08 UTC"
        " · report `20261122-050408`\n"
        "\n"
        "- ❌ `accuracy` of `defaults` (baseline; evaluation, `test`): 0.5, needs >= 0.6\n"
        "\n"
        "#### accuracy (primary) · evaluation · test\n"
        "| variant | value [95% CI] | Δ vs baseline [95% CI] | significance | gate |\n"
        "|---|---|---|---|---|\n"
        "| `defaults` (baseline) | 0.500 [0.150, 0.850] | – | – | ❌ >= 0.6 |\n"
        "| `node.v1` ★ best | 0.750 [0.301, 0.954] | +0.250 [-0.546, +1.046] "
        "| not significant · McNemar p=1.000 | ✅ >= 0.6 |\n"
        "\n"
        "**Lines:** 0 of 8 failed in experiment runs, 0 in evaluation runs. "
        "**Cost:** $0.0024 for 8 LLM calls, 880 tokens, 2 cache hits.\n"
        "\n"
        "<sub>95% intervals: Wilson for 0/1 metrics, Student t otherwise. Deltas pair each variant with the "
        "baseline on the same lines and are significant when their interval excludes 0; exact McNemar p for "
        "0/1 metrics.</sub>\n"
    )
    assert report.gate_failure_message == (
        "1 of 2 quality gate checks failed:\n"
        "  accuracy of variant 'defaults' (baseline; evaluation, dataset 'test'): 0.5, needs >= 0.6\n"
        "Improve the flow or its prompts, or change the gates in llmops_config.json if a threshold is wrong."
    )


def test_summary_markdown_stays_within_60_lines_for_a_large_experiment(tmp_path: Path) -> None:
    web_runs, web_evals = sample_experiment(variant_count=30, line_count=8, dataset="web")
    adv_runs, adv_evals = sample_experiment(variant_count=30, line_count=8, dataset="adv")
    gates = {"accuracy": "> 100", "groundedness": "> 100", "macro_f1": "> 100"}  # every check fails
    report = write_report(
        "web_classification", "ci", web_runs + adv_runs, web_evals + adv_evals, gates, tmp_path, now=NOW
    )
    lines = report.summary_md.read_text().splitlines()
    assert len(lines) <= MAX_LINES
    assert lines[0] == "<!-- llmops-report:web_classification:ci -->"
    assert "- … and 7 more failed checks in report.html" in lines  # 12 failed checks, 5 listed
    assert "| *… 23 more variants in report.html* | | | | |" in lines  # 30 variants, 7 rows kept
    assert lines.count("| variant | value [95% CI] | Δ vs baseline [95% CI] | significance | gate |") == 3
    assert "*3 more metrics not shown: see report.html or summary.json.*" in lines
    assert lines[-1].startswith("<sub>95% intervals")
    # The first table (the primary metric) keeps the baseline and the best variant.
    first_table = lines[lines.index("#### accuracy (primary) · evaluation · web") :][:12]
    best = report.comparison.best["web"]
    assert any(row.startswith("| `defaults` (baseline)") for row in first_table)
    assert any(row.startswith(f"| `{best}` ★ best") for row in first_table)
    # summary.json keeps everything the Markdown had to leave out.
    summary = json.loads(report.summary_json.read_text())
    assert len(summary["metrics"]) == 6
    assert all(len(m["variants"]) == 30 for m in summary["metrics"])
    assert len(summary["gates"]["results"]) == 12


def test_summary_markdown_without_gates_or_usage(tmp_path: Path) -> None:
    experiment, evaluation = run("defaults", [1, 0])
    experiment = replace(experiment, usage=None)
    text = write_report("uc", "dev", [experiment], [evaluation], {}, tmp_path, now=NOW).summary_md.read_text()
    assert "**Quality gates:** none configured" in text.splitlines()
    assert (
        "**Lines:** 0 of 2 failed in experiment runs, 0 in evaluation runs. **Cost:** no LLM usage recorded."
        in text
    )


def test_aggregate_only_metrics_share_one_compact_table(tmp_path: Path) -> None:
    baseline, baseline_eval = run("defaults", [1, 1, 0, 0])
    variant, variant_eval = run("node.v1", [1, 1, 1, 0])
    per_class = [
        EvaluationRun("evaluation_adv", f"adv-{r.variant_label}", r.run_id, "test", metrics, {}, ())
        for r, metrics in ((baseline, {"f1_app": 0.5, "macro_f1": 0.6}), (variant, {"f1_app": 0.75, "macro_f1": 0.55}))
    ]
    report = write_report("uc", "pr", [baseline, variant], [baseline_eval, variant_eval, *per_class],
                          {"macro_f1": ">= 0.58"}, tmp_path, now=NOW)
    lines = report.summary_md.read_text().splitlines()
    start = lines.index("#### evaluation_adv · test · aggregate metrics (no per-line values, so no intervals)")
    assert lines[start:start + 5] == [
        "#### evaluation_adv · test · aggregate metrics (no per-line values, so no intervals)",
        "| metric | `defaults` (baseline) ★ best | `node.v1` |",  # the gate's metric is primary: macro_f1
        "|---|---|---|",
        "| macro_f1 | 0.600 ✅ >= 0.58 | 0.550 (-0.050) |",  # gates apply to the baseline and the best
        "| f1_app | 0.500 | 0.750 (+0.250) |",
    ]
    assert lines[start - 1] == "" and "more metrics not shown" not in report.summary_md.read_text()


def test_failed_lines_by_cause_are_listed_up_to_five_causes(tmp_path: Path) -> None:
    experiment, evaluation = run("defaults", [1, 1, 1, 1, 1, 1, 1, 0])
    errors = [f"Execution failure in 'classify': (ValueError) cannot classify 'https://example.com/{i}'"
              for i in range(7)]
    lines = tuple(replace(line, outputs={}, error=error) for line, error in zip(experiment.lines, errors, strict=False))
    experiment = replace(experiment, lines=lines + experiment.lines[7:])
    text = write_report("uc", "pr", [experiment], [evaluation], {}, tmp_path, now=NOW).summary_md.read_text()
    start = text.index("**Failed lines by cause**")
    assert text[start:].splitlines()[:8] == [
        "**Failed lines by cause** (the next run retries them):",
        *[f"- 1 line, e.g. line {i} of `defaults` (`test`): `{error}`" for i, error in enumerate(errors[:5])],
        "- … and 2 more causes (2 lines) in report.html",
        "",
    ]
