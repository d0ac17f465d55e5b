"""Step: pin every LLM judge a step evaluates with, and run each calibrated judge over its human-labelled lines.

Runs beside the evaluation (`evaluate`, `run`, `record`) and the post-production evaluation (`post-prod-eval`).
A calibration run is a run like any other: keyed by the judge's flow, its labelled data and the LLM, so a rerun
with nothing changed reuses it and makes no LLM call. Each judge's record (identity and agreement) is written for
the reports (llmops/report/judge_agreement.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmops.backends import open_backend
from llmops.backends.content_hash import file_sha256
from llmops.backends.protocols import Backend
from llmops.backends.types import ProgressFactory, RunResult, RunSpec
from llmops.config.flow_base import Flow
from llmops.config.judge_calibration import CalibrationSet, load_calibration
from llmops.config.judge_flow import judge_flows
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace
from llmops.llm.judge_identity import judge_identity
from llmops.report.judge_agreement import JudgeRecord, agreement_of, write_record

if TYPE_CHECKING:
    from llmops.llm.session import LlmSession

CALIBRATION = "calibration"  # the kind and the variant label of a calibration run


@dataclass(frozen=True)
class JudgeCalibration:
    record: JudgeRecord
    run: RunResult | None  # None for a judge without a calibration set


@dataclass(frozen=True)
class CalibrationResult:
    judges: list[JudgeCalibration]

    @property
    def runs(self) -> list[RunResult]:
        return [judge.run for judge in self.judges if judge.run is not None]


def calibrate_judges(workspace: Workspace, use_case: UseCase, env: str, session: LlmSession, kind: str = "evaluation",
                     progress: ProgressFactory | None = None, backend: Backend | None = None,
                     cancel: bool = False) -> CalibrationResult:
    """The judges of `kind` (`evaluation` or `post_prod`, see judge_flows), each pinned and, when it has a
    calibration set, measured against it."""
    flows = judge_flows(use_case, env, kind)
    if not flows:
        return CalibrationResult([])
    sets = {flow.name: load_calibration(flow, workspace.root) for flow in flows}  # every bad file before any run
    backend = backend or open_backend(workspace, use_case, env)
    specs = {flow.name: _spec(workspace, use_case, env, flow, found, backend)
             for flow in flows if (found := sets[flow.name]) is not None}
    results = backend.executor.execute(list(specs.values()), session, use_case.env(env).CONCURRENCY, progress,
                                       cancel=cancel) if specs else []
    by_flow = {spec.flow.name: result for spec, result in zip(specs.values(), results, strict=True)}
    judges = []
    for flow in flows:
        identity = judge_identity(flow, session)
        calibration, run = sets[flow.name], by_flow.get(flow.name)
        agreement = None
        if calibration is not None and run is not None:
            lines = {line.index: line for line in run.lines}
            failed = [i not in lines or bool(lines[i].error) for i in range(len(calibration.rows))]
            verdicts = [lines[i].outputs.get(calibration.verdict) if i in lines else None
                        for i in range(len(calibration.rows))]
            agreement = agreement_of(verdicts, failed, calibration.labels, file=workspace.shown(calibration.file),
                                     labels_sha256=file_sha256(calibration.file), run_id=run.record.run_id,
                                     verdict=calibration.verdict)
        record = JudgeRecord(flow.name, identity.model, identity.provider, identity.prompt_sha256, agreement)
        write_record(workspace.state_dir, use_case.name, env, record)
        judges.append(JudgeCalibration(record, run))
    return CalibrationResult(judges)


def _spec(workspace: Workspace, use_case: UseCase, env: str, flow: Flow, calibration: CalibrationSet,
          backend: Backend) -> RunSpec:
    """The judge over its labelled lines: each line's columns are the flow's inputs, so the mapping is the
    identity (it is part of the run's key as any mapping is)."""
    version = backend.registry.data.register(f"{use_case.name}_{flow.name}_{CALIBRATION}", calibration.file,
                                             f"human-labelled lines calibrating the judge {flow.name}",
                                             workspace.shown(calibration.file))
    columns = sorted({name for row in calibration.rows for name in row})
    return RunSpec(
        use_case=use_case.name, env=env, kind=CALIBRATION, flow=flow, flow_path=workspace.shown(flow.path),
        variant=flow.default_variants(), variant_label=CALIBRATION, dataset=version.name,
        dataset_version=version.version, data_sha256=version.sha256,
        mapping={name: f"${{data.{name}}}" for name in columns}, rows=list(enumerate(calibration.rows)),
    )
