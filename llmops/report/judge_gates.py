"""The `judge_kappa` gate: a minimum agreement of every calibrated judge with its human labels.

`"GATES": {"judge_kappa": ">= 0.6"}` in llmops_config.json is checked on each judge of the report that has a
calibration set (no evaluation flow reports it: it is not a metric of a variant). It fails when no judge has one,
when kappa is undefined, and when the judge's prompt or labels changed since it was calibrated.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmops.report.gates import Gate, GateResult
from llmops.report.judge_agreement import JudgeRecord
from llmops.report.judge_section import agreement_text

JUDGE_KAPPA = "judge_kappa"
ROLE = "judge"


def split_judge_gates(gates: Sequence[Gate]) -> tuple[tuple[Gate, ...], tuple[Gate, ...]]:
    """(the gates on evaluation metrics, the judge_kappa gates)."""
    return (tuple(g for g in gates if g.metric != JUDGE_KAPPA), tuple(g for g in gates if g.metric == JUDGE_KAPPA))


def judge_gate_results(gates: Sequence[Gate], judges: Sequence[JudgeRecord]) -> tuple[GateResult, ...]:
    results: list[GateResult] = []
    calibrated = [judge for judge in judges if judge.agreement is not None]
    for gate in gates:
        if not calibrated:
            names = ", ".join(j.flow for j in judges) or "none"
            results.append(_result(gate, None, "", "", f"no judge of this report has a calibration set (judges: "
                                                       f"{names}); add calibration.jsonl and calibration.json to the "
                                                       "judge's flow folder"))
        for judge in calibrated:
            assert judge.agreement is not None
            kappa = judge.agreement.kappa
            note = f"{agreement_text(judge.to_dict()['agreement'])}; needs {gate.expression}"
            if judge.stale:
                note += f"; {judge.stale}"
            results.append(_result(gate, None if judge.stale else kappa, judge.flow, judge.agreement.file, note))
    return tuple(results)


def _result(gate: Gate, value: float | None, flow: str, dataset: str, note: str) -> GateResult:
    return GateResult(metric=gate.metric, variant_label="", value=value, threshold=gate.threshold,
                      passed=gate.passes(value), operator=gate.operator, role=ROLE, eval_flow=flow, dataset=dataset,
                      note=note)
