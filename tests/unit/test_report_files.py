"""write_report: every file with the right rows and columns, the latest pointer, and HTML escaping."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from llmops.errors import ConfigError, StepFailed, UsageError
from llmops.report import LineResult, write_report
from tests.support.sample_report import sample_experiment

NOW = datetime(2026, 11, 22, 5, 4, 8, tzinfo=UTC)
GATES = {"accuracy": ">= 0.5", "groundedness": "> 3"}


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


@pytest.fixture
def report(tmp_path: Path):
    runs, evaluations = sample_experiment(variant_count=3, line_count=10)  # 2 evaluation flows
    return write_report("web_classification", "pr", runs, evaluations, GATES, tmp_path, now=NOW)


def test_results_csv_has_one_row_per_line_per_run_with_that_runs_id(report) -> None:
    header, rows = read_csv(report.results_csv)
    assert header == [
        "run_id", "run_name", "variant_label",
        "variant.summarize_text_content", "variant.classify_with_llm",
        "dataset", "dataset_version", "line_index",
        "input.url", "input.answer", "output.category", "output.evidence", "error",
    ]  # fmt: skip
    assert len(rows) == 3 * 10
    for run in report.comparison.runs:
        own = [row for row in rows if row["run_id"] == run.run_id]
        assert [row["line_index"] for row in own] == [str(line.index) for line in run.lines]
        assert {(row["run_name"], row["variant_label"]) for row in own} == {(run.name, run.variant_label)}
    failed = [row for row in rows if row["error"]]
    assert [(r["variant_label"], r["line_index"], r["output.category"]) for r in failed] == [
        ("summarize_text_content.variant_1", "1", ""),
        ("classify_with_llm.variant_1", "2", ""),
    ]
    assert failed[0]["error"] == "RateLimitError: 429 Too Many Requests after 3 retries"
    variant_columns = {
        (r["variant_label"], r["variant.summarize_text_content"], r["variant.classify_with_llm"])
        for r in rows
    }
    assert variant_columns == {
        ("defaults", "variant_0", "variant_0"),
        ("summarize_text_content.variant_1", "variant_1", "variant_0"),
        ("classify_with_llm.variant_1", "variant_0", "variant_1"),
    }


def test_metrics_csv_has_one_row_per_run_and_evaluation_flow(report) -> None:
    header, rows = read_csv(report.metrics_csv)
    assert header == [
        "run_id", "eval_run_id", "run_name", "variant_label", "eval_flow", "dataset",
        "lines", "failed_lines", "eval_failed_lines",
        "accuracy", "macro_f1", "groundedness",
        "accuracy_ci_low", "accuracy_ci_high", "groundedness_ci_low", "groundedness_ci_high",
        "calls", "prompt_tokens", "completion_tokens", "cost_usd",
        "p50_latency_ms", "p95_latency_ms", "cache_hits",
    ]  # fmt: skip
    assert len(rows) == 3 * 2
    assert [(r["variant_label"], r["eval_flow"]) for r in rows] == [
        (label, flow)
        for label in ("defaults", "summarize_text_content.variant_1", "classify_with_llm.variant_1")
        for flow in ("evaluation", "evaluation_adv")
    ]
    baseline = rows[0]
    figure = report.comparison.metrics[0].variants[0]  # accuracy of the baseline
    assert float(baseline["accuracy"]) == figure.value
    assert (float(baseline["accuracy_ci_low"]), float(baseline["accuracy_ci_high"])) == (
        figure.estimate.ci_low,
        figure.estimate.ci_high,
    )
    assert (baseline["groundedness"], baseline["groundedness_ci_low"]) == ("", "")  # other flow's metric
    assert (baseline["calls"], baseline["prompt_tokens"], baseline["cost_usd"], baseline["cache_hits"]) == (
        "20", "4100", "0.0021", "0",
    )  # fmt: skip
    for row in rows:
        run = report.comparison.run(row["run_id"])
        assert row["run_name"] == run.name and row["variant_label"] == run.variant_label


def test_report_folder_is_the_utc_time_and_latest_points_at_it(report, tmp_path: Path) -> None:
    env_folder = tmp_path / "web_classification" / "pr"
    assert report.folder == env_folder / "20261122-050408"
    assert sorted(p.name for p in report.folder.iterdir()) == [
        "metrics.csv", "report.html", "results.csv", "summary.json", "summary.md",
    ]  # fmt: skip
    assert (env_folder / "LATEST").read_text() == "20261122-050408\n"
    assert (env_folder / "latest").resolve() == report.folder.resolve()

    runs, evaluations = sample_experiment(variant_count=2, line_count=4)
    again = write_report("web_classification", "pr", runs, evaluations, GATES, tmp_path, now=NOW)
    assert again.folder.name == "20261122-050408-2"  # same second: a suffix, never an overwrite
    assert (env_folder / "LATEST").read_text() == "20261122-050408-2\n"
    assert (env_folder / "latest").resolve() == again.folder.resolve()
    assert sorted(p.name for p in env_folder.iterdir()) == [
        "20261122-050408",
        "20261122-050408-2",
        "LATEST",
        "latest",
    ]


def test_summary_json_carries_the_verdict_with_stable_keys(report) -> None:
    summary = json.loads(report.summary_json.read_text())
    assert list(summary) == [
        "schema_version", "marker", "use_case", "env", "created_utc", "report_folder", "datasets",
        "evaluation_datasets", "variant_count", "primary_metric", "baseline_variant", "best_variants",
        "gates", "metrics", "lines", "failures", "skipped_evaluations", "usage", "runs", "method", "trials", "judges",
    ]  # fmt: skip
    assert summary["trials"] is None  # one trial per line: no repeated-trials section
    assert summary["marker"] == "<!-- llmops-report:web_classification:pr -->"
    assert (summary["created_utc"], summary["report_folder"]) == ("2026-11-22T05:04:08Z", "20261122-050408")
    assert summary["datasets"] == [{"name": "web_classification_test", "version": 1}]
    assert summary["primary_metric"] == "accuracy"
    assert [(m["metric"], m["eval_flow"]) for m in summary["metrics"]] == [
        ("accuracy", "evaluation"),
        ("macro_f1", "evaluation"),
        ("groundedness", "evaluation_adv"),
    ]
    assert summary["lines"] == {"total": 30, "failed": 2, "evaluation_failed": 4}
    assert summary["usage"] == {
        "runs_with_usage": 3, "calls": 60, "prompt_tokens": 12300, "completion_tokens": 1050,
        "cost_usd": pytest.approx(0.0063), "cache_hits": 3,
    }  # fmt: skip
    assert summary["gates"]["passed"] is report.gates_passed
    assert summary["gates"]["checked"] == len(report.gate_results)
    variant = summary["metrics"][0]["variants"][1]
    assert set(variant) == {
        "variant_label", "run_id", "eval_run_id", "is_baseline", "is_best", "value", "ci_low", "ci_high",
        "ci_method", "n", "note", "delta", "gates",
    }  # fmt: skip
    assert set(variant["delta"]) == {
        "mean", "ci_low", "ci_high", "n_pairs", "significant", "verdict", "mcnemar_p", "note",
    }  # fmt: skip


def test_model_output_is_escaped_in_the_html(tmp_path: Path) -> None:
    runs, evaluations = sample_experiment(variant_count=2, line_count=4)
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    hostile = LineResult(0, {"url": "u & v"}, {"category": attack}, "boom <b>bold</b>")
    runs = (replace(runs[0], lines=(hostile, *runs[0].lines[1:])), *runs[1:])
    html = write_report("uc", "pr", runs, evaluations, {}, tmp_path, now=NOW).html.read_text()
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "boom &lt;b&gt;bold&lt;/b&gt;" in html
    assert "u &amp; v" in html


def test_html_is_self_contained(report) -> None:
    html = report.html.read_text()
    assert re.findall(r"""(?:src|href)\s*=|@import|url\(|<link|<script""", html) == []
    assert len(re.findall(r'<svg class="chart"', html)) == 3
    for section in ("charts", "gates", "metrics", "deltas", "usage", "worst-lines"):
        assert f'<section id="{section}">' in html
    assert "Student t interval" in html  # the method footer


@pytest.mark.parametrize(
    ("use_case", "env", "message"),
    [
        (
            "../escape",
            "pr",
            "use case name '../escape' cannot be a folder name; use letters, digits, '_', '-' or '.'",
        ),
        (
            "uc",
            "pr/x",
            "environment name 'pr/x' cannot be a folder name; use letters, digits, '_', '-' or '.'",
        ),
        ("..", "pr", "use case name '..' cannot be a folder name; use letters, digits, '_', '-' or '.'"),
    ],
)
def test_names_that_are_not_folder_names_are_refused(
    tmp_path: Path, use_case: str, env: str, message: str
) -> None:
    runs, evaluations = sample_experiment(variant_count=1, line_count=2)
    with pytest.raises(UsageError) as error:
        write_report(use_case, env, runs, evaluations, {}, tmp_path, now=NOW)
    assert str(error.value) == message
    assert list(tmp_path.iterdir()) == []


def test_an_experiment_without_runs_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StepFailed) as error:
        write_report("uc", "pr", [], [], {}, tmp_path, now=NOW)
    assert (
        str(error.value) == "report for 'uc' in 'pr': no experiment runs were given; run the experiment first"
    )


def test_bad_gates_fail_before_any_file_is_written(tmp_path: Path) -> None:
    runs, evaluations = sample_experiment(variant_count=1, line_count=2)
    with pytest.raises(ConfigError) as error:
        write_report("uc", "pr", runs, evaluations, {"accuracy": "at least 0.6"}, tmp_path, now=NOW)
    assert str(error.value).startswith("llmops_config.json: gates.accuracy: 'at least 0.6' is not a gate; ")
    assert list(tmp_path.iterdir()) == []


def test_structured_inputs_and_outputs_are_written_as_json(tmp_path: Path) -> None:
    runs, evaluations = sample_experiment(variant_count=1, line_count=2)
    line = LineResult(0, {"chat_history": [{"role": "user", "content": "héllo"}]}, {"scores": {"a": 1}}, None)
    runs = (replace(runs[0], lines=(line, *runs[0].lines[1:])),)
    _, rows = read_csv(write_report("uc", "pr", runs, evaluations, {}, tmp_path, now=NOW).results_csv)
    assert rows[0]["input.chat_history"] == '[{"role": "user", "content": "héllo"}]'
    assert rows[0]["output.scores"] == '{"a": 1}'
    assert rows[1]["input.chat_history"] == ""  # a key the line does not have


def test_html_pairs_only_metrics_with_line_values_and_turns_wide_tables(tmp_path: Path) -> None:
    runs, evaluations = sample_experiment(variant_count=3, line_count=10)
    per_class = {f"f1_class_{i}": 0.5 + i / 100 for i in range(7)}  # 7 aggregate-only metrics: a wide table
    evaluations = [replace(e, metrics={**e.metrics, **per_class}) if e.eval_flow == "evaluation_adv" else e
                   for e in evaluations]
    html = write_report("uc", "pr", runs, evaluations, {}, tmp_path, now=NOW).html.read_text()
    deltas = html[html.index('<section id="deltas">'):html.index('<section id="usage">')]
    assert ">accuracy</td>" in deltas and ">macro_f1</td>" not in deltas and ">f1_class_0</td>" not in deltas
    assert "Not paired, having no per-line values: f1_class_0, f1_class_1, f1_class_2" in " ".join(deltas.split())
    metrics = html[html.index('<section id="metrics">'):html.index('<section id="deltas">')]
    assert "<th>metric</th>" in metrics  # the evaluation_adv table has a row per metric
    assert "no per-line values" not in metrics.split("<p class=\"meta\">")[0]  # said once, under the table
    assert "of these metrics are aggregates the flow logged without per-line values" in metrics
