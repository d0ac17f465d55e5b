"""Shared rendering of run results for the experiment, evaluate and run commands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmops.cli.common import out
from llmops.report.failures import RETRIED, FailedLine, FailureContext, FailureGroup, group_failures
from llmops.report.formatting import lines as lines_text
from llmops.report.formatting import number

MAX_METRICS_SHOWN = 5  # a run's line stays readable; the report has them all
_SUMMARY_PREFIXES = ("macro_", "micro_", "weighted_", "mean_", "overall_")


def runs_table(results: list[Any]) -> None:
    for r in results:
        rec = r.record
        how = "reused" if r.reused else f"ran {lines_text(r.executed_lines)}"
        out(f"{rec.name}: {rec.lines_total} lines, {rec.lines_failed} failed ({how})" + metrics_text(rec.metrics))


def skipped_evaluations(skipped: Sequence[Any]) -> None:
    """One line per evaluation the env's data cannot feed, saying why."""
    for skip in skipped:
        out(str(skip))


def metrics_text(metrics: dict[str, Any]) -> str:
    """Summary metrics first (accuracy, macro_f1 before f1_academic ...), at most MAX_METRICS_SHOWN of them; a
    name may carry its evaluation flow (`evaluation_adv/f1_app`)."""
    numbers = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}

    def rank(key: str) -> tuple[bool, str]:
        name = key.rsplit("/", 1)[-1]
        return "_" in name and not name.startswith(_SUMMARY_PREFIXES), key

    ordered = sorted(numbers, key=rank)
    text = ", ".join(f"{k}={numbers[k]:.3f}" for k in ordered[:MAX_METRICS_SHOWN])
    if len(ordered) > MAX_METRICS_SHOWN:
        text += f" and {len(ordered) - MAX_METRICS_SHOWN} more in the report"
    return f"; {text}" if text else ""


def failures_by_cause(results: list[Any], context: FailureContext) -> None:
    """The failed lines of these runs, grouped by cause with the fix."""
    lines = [FailedLine(r.record.variant_label, r.record.dataset, line.index, line.error, r.record.flow)
             for r in results for line in r.lines if line.error is not None]
    failure_groups(group_failures(lines, context))


def failure_groups(groups: Sequence[FailureGroup]) -> None:
    if not groups:
        return
    out(f"failed lines by cause ({RETRIED}):")
    for group in groups:
        out(f"  {lines_text(group.count)}: {group.cause}")
        out(f"    e.g. {group.example_text}")
        if group.fix:
            out(f"    fix: {group.fix}")


def llm_calls(outcomes: dict[str, int], remote: int = 0) -> None:
    """What the command asked of the LLMs (the gateways' count): a rerun with nothing changed sends nothing.
    `remote`: how many of them the lines made on Azure ML nodes."""
    sent = outcomes.get("miss", 0) + outcomes.get("record", 0)
    where = f" ({remote} of them on Azure ML nodes)" if remote else ""
    out(f"LLM calls: {sent} sent to the model, {outcomes.get('hit', 0)} answered from the cache, "
        f"{outcomes.get('replay', 0)} replayed{where}")


def trial_results(trials: dict[str, Any] | None) -> None:
    """With repeated trials: per variant and 0/1 metric, pass@k and pass^k over all k trials and the flaky lines."""
    if trials is None:
        return
    k = trials["per_line"]
    for metric in trials["metrics"]:
        if not metric["binary"]:
            continue
        for variant in metric["variants"]:
            flaky = variant["flaky_lines"]
            listed = ", ".join(f"{f['line_index']} ({f['passes']}/{f['trials']})" for f in flaky) or "none"
            out(f"trials {variant['variant_label']} {metric['metric']} ({metric['eval_flow']}, {metric['dataset']}): "
                f"pass@{k}={number(variant['pass_at_k'][-1]['value'])}, "
                f"pass^{k}={number(variant['pass_hat_k'][-1]['value'])}, "
                f"flaky lines {len(flaky)} of {len(variant['lines'])}: {listed}")


def gate_checks(results: Sequence[Any]) -> None:
    """One line per gate check: its value or, when it has none, why."""
    for gate in results:
        on = f" on {gate.checked_on}" if gate.checked_on else ""
        # Four decimals, as Python prints them (1.0, 0.75, 0.9333): a mean over 15 lines has no use for 16 digits.
        value = round(gate.value, 4) if gate.value is not None else gate.note
        out(f"gate {gate.metric} {gate.expression}{on}: {value} -> {'pass' if gate.passed else 'FAIL'}")


def production_checks(production: Any) -> None:
    """One line per check against production: its verdict, improvement and interval at the Holm-adjusted level."""
    if production is None:
        return
    out(f"production: {production.production}")
    for check in production.checks:
        where = " · ".join(filter(None, [check.variant_label, check.eval_flow, check.dataset]))
        decision = check.decision
        found = check.verdict or "no verdict"
        if decision is not None and decision.low is not None and decision.high is not None:
            found += (f" (improvement {decision.estimate:+.3f}, {decision.level:.2%} interval "
                      f"[{decision.low:+.3f}, {decision.high:+.3f}], margin {check.margin:g})")
        note = "; ".join(filter(None, [check.note, decision.note if decision else ""]))
        out(f"gate {check.metric} vs production{f' on {where}' if where else ''}: {found}"
            f"{f' [{note}]' if note else ''} -> {'pass' if check.passed else 'FAIL'}")


def judge_agreements(calibration: Any) -> None:
    """A line per LLM judge: who it is and how far it agrees with its human labels (a CalibrationResult)."""
    from llmops.report.judge_section import agreement_text

    for judge in calibration.judges if calibration is not None else []:
        record = judge.record
        out(f"judge {record.flow} ({record.model} via {record.provider}, prompt {record.prompt_sha256[:12]}): "
            f"{agreement_text(record.to_dict()['agreement'])}")
