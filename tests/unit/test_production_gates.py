"""Gates against production through write_report: verdicts, Holm levels, cost and latency, and the report files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from llmops.config.gate_rule import GateRule, VsProduction
from llmops.report.model import EvaluationRun, ExperimentRun, LineResult
from llmops.report.production_gates import ProductionBaseline
from llmops.report.usage_metrics import CallFigure, RunCalls, estimate, percentile, relative_saving
from llmops.report.writer import write_report

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _run(run_id: str, label: str, scores: list[float]) -> tuple[ExperimentRun, EvaluationRun]:
    lines = tuple(LineResult(i, {"url": f"u{i}"}, {"category": "x"}, None) for i in range(len(scores)))
    run = ExperimentRun(run_id, f"mini_pr_{label}", {}, label, label == "defaults", "mini_pr", 1, lines, None)
    evaluation = EvaluationRun("eval", f"{run_id}.eval", run_id, "mini_pr", {"accuracy": sum(scores) / len(scores)},
                               {"accuracy": tuple(scores)}, (None,) * len(scores))
    return run, evaluation


def _rule(margin: float, *passes: str) -> GateRule:
    return GateRule(vs_production=VsProduction.model_validate({"margin": margin, "pass": list(passes) or
                                                               ["better", "non-inferior"]}))


PRODUCTION_SCORES = [1.0, 1.0, 0.0, 1.0] * 5  # 0.75 over 20 lines


def _production() -> ProductionBaseline:
    run, evaluation = _run("prod", "defaults", PRODUCTION_SCORES)
    return ProductionBaseline("model mini_dev version 1", (run,), (evaluation,))


def test_a_broken_candidate_is_worse_and_fails(tmp_path: Path) -> None:
    run, evaluation = _run("cand", "defaults", [0.0, 1.0, 0.0, 0.0] * 5)
    result = write_report("mini", "pr", [run], [evaluation], {"accuracy": _rule(0.05)}, tmp_path, NOW,
                          production=_production())
    assert not result.gates_passed
    (check,) = result.production.checks if result.production else ()
    assert (check.verdict, check.n, check.candidate, check.production) == ("worse", 20, 0.25, 0.75)
    assert result.gate_failure_message is not None
    assert "accuracy vs production (variant 'defaults', eval, dataset 'mini_pr'): worse (improvement -0.500" in (
        result.gate_failure_message)
    summary = json.loads(result.summary_json.read_text())["against_production"]
    assert summary["checks"][0]["verdict"] == "worse" and summary["checks"][0]["confidence_level"] == 0.95
    assert "**Against production: ❌ failed** · model mini_dev version 1" in result.summary_md.read_text()
    assert '<section id="against-production">' in result.html.read_text()


def test_an_equivalent_candidate_is_non_inferior_and_passes(tmp_path: Path) -> None:
    run, evaluation = _run("cand", "defaults", PRODUCTION_SCORES)
    result = write_report("mini", "pr", [run], [evaluation], {"accuracy": _rule(0.05)}, tmp_path, NOW,
                          production=_production())
    assert result.gates_passed and result.production is not None
    assert result.production.checks[0].verdict == "non-inferior"


def test_inconclusive_passes_only_when_listed(tmp_path: Path) -> None:
    scores = [1.0, 0.0, 0.0, 1.0] * 5  # flips 2 of 4 lines both ways: mean 0 with a wide interval
    run, evaluation = _run("cand", "defaults", scores)
    strict = write_report("mini", "pr", [run], [evaluation], {"accuracy": _rule(0.05)}, tmp_path, NOW,
                          production=_production())
    lenient = write_report("mini", "pr", [run], [evaluation],
                           {"accuracy": _rule(0.05, "better", "non-inferior", "inconclusive")}, tmp_path, NOW,
                           production=_production())
    assert strict.production and strict.production.checks[0].verdict == "inconclusive"
    assert (strict.gates_passed, lenient.gates_passed) == (False, True)


def test_nothing_in_production_passes_saying_so(tmp_path: Path) -> None:
    run, evaluation = _run("cand", "defaults", [0.0] * 4)
    result = write_report("mini", "pr", [run], [evaluation], {"accuracy": _rule(0.05)}, tmp_path, NOW,
                          production=ProductionBaseline("", absent="nothing in production yet: endpoint 'mini'"))
    assert result.gates_passed and result.production is not None
    assert result.production.checks[0].note == "nothing in production yet: endpoint 'mini'"


def test_missing_production_runs_fail_saying_what_to_run(tmp_path: Path) -> None:
    run, evaluation = _run("cand", "defaults", [1.0] * 4)
    unavailable = ProductionBaseline("model mini_dev version 1", unavailable="run: llmops run --use-case mini")
    result = write_report("mini", "pr", [run], [evaluation], {"accuracy": _rule(0.05)}, tmp_path, NOW,
                          production=unavailable)
    assert not result.gates_passed
    assert "no verdict; run: llmops run --use-case mini" in (result.gate_failure_message or "")


def test_holm_levels_across_metrics_and_variants(tmp_path: Path) -> None:
    base, base_eval = _run("cand", "defaults", PRODUCTION_SCORES)
    other, other_eval = _run("cand2", "node.variant_1", [1.0] * 20)
    production = _production()
    result = write_report("mini", "pr", [base, other], [base_eval, other_eval], {"accuracy": _rule(0.05)},
                          tmp_path, NOW, production=production)
    checks = result.production.checks if result.production else ()
    assert [c.variant_label for c in checks] == ["defaults", "node.variant_1"]
    # Two checks: one is tested at 0.025 / 2 (a 97.5% interval), the other at 0.025 (95%).
    assert sorted(c.decision.level for c in checks if c.decision) == pytest.approx([0.95, 0.975])
    assert [c.verdict for c in checks] == ["non-inferior", "better"]


def _calls(latencies: list[float], cost: float, lines: int) -> RunCalls:
    return RunCalls(lines, tuple(CallFigure(None, cost, ms) for ms in latencies))


def test_usage_statistics() -> None:
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5) == 3.0 and percentile([1.0, 2.0], 0.95) == pytest.approx(1.95)
    run = _calls([100.0] * 8, 0.002, 4)  # 2 calls per line
    cost = estimate("cost_per_line", run)
    assert cost.value == pytest.approx(0.004) and (cost.ci_low, cost.ci_high) == pytest.approx((0.004, 0.004))
    replayed = RunCalls(4, (CallFigure(None, None, None),) * 4)
    assert estimate("latency_p95", replayed).note == "no call timed upstream (replayed calls have no latency)"
    assert relative_saving(80.0, 100.0) == pytest.approx(0.2) and relative_saving(0.0, 0.0) == 0.0
    # Resampling is seeded: a report made twice shows the same interval.
    noisy = _calls([float(50 + (i * 37) % 100) for i in range(40)], 0.0, 40)
    assert estimate("latency_p50", noisy) == estimate("latency_p50", noisy)


def test_latency_gates_fixed_and_against_production(tmp_path: Path) -> None:
    run, evaluation = _run("cand", "defaults", PRODUCTION_SCORES)
    production = _production()
    slow = _calls([float(300 + i % 7) for i in range(20)], 0.001, 20)
    fast = _calls([float(100 + i % 7) for i in range(20)], 0.001, 20)
    gates = {"latency_p95": GateRule(threshold="<= 250", vs_production=VsProduction(margin=0.2)),
             "cost_per_line": GateRule(vs_production=VsProduction(margin=0.1))}
    result = write_report("mini", "pr", [run], [evaluation], gates, tmp_path, NOW, production=production,
                          calls={"cand": slow, "prod": fast})
    (fixed,) = result.gate_results
    assert (fixed.metric, fixed.passed, fixed.eval_flow) == ("latency_p95", False, "gateway accounting")
    assert fixed.value == 306.0  # 20 calls: rank 18.05 of 0..19
    checks = {c.metric: c for c in result.production.checks} if result.production else {}
    assert checks["latency_p95"].verdict == "worse"  # three times slower, 20% allowed
    assert checks["latency_p95"].decision and checks["latency_p95"].decision.estimate == pytest.approx(
        1 - 306 / 106)
    assert checks["cost_per_line"].verdict == "non-inferior"  # the same cost: no replicate strays
    usage = json.loads(result.summary_json.read_text())["against_production"]["usage"]
    assert {(u["variant_label"], u["metric"]) for u in usage} == {
        ("defaults", "latency_p95"), ("defaults", "cost_per_line"),
        ("production: defaults", "latency_p95"), ("production: defaults", "cost_per_line")}


def test_the_pr_comment_header_counts_the_checks_against_production_with_the_thresholds() -> None:
    from llmops.report.markdown import _gate_verdict

    thresholds = {"checked": 2, "failed": 0, "passed": True}
    production = {"passed": False, "checks": [{"passed": False}, {"passed": True}]}
    assert _gate_verdict(thresholds, production) == "**Quality gates: ❌ 1 of 4 checks failed**"
    assert _gate_verdict(thresholds, None) == "**Quality gates: ✅ passed** (2 checks)"
    assert _gate_verdict({"checked": 0, "failed": 0, "passed": True}, {"passed": True, "checks": []}) == \
        "**Quality gates:** none configured"
