"""Pipelines are lists of steps, kept in this one place. Steps never import each other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmops.backends import open_backend
from llmops.backends.protocols import Backend
from llmops.backends.types import ProgressFactory
from llmops.config.flow_modules import require_flow_modules
from llmops.config.gate_rule import compares_with_production
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace
from llmops.errors import GateFailed, LlmopsError, StepFailed
from llmops.steps.evaluate import EvaluationResult, evaluate
from llmops.steps.experiment import ExperimentResult, experiment
from llmops.steps.judge_calibration import CalibrationResult, calibrate_judges
from llmops.steps.production_runs import ProductionRunsResult, run_production
from llmops.steps.register_data import RegisterDataResult, register_data
from llmops.steps.report import ReportStepResult, report

if TYPE_CHECKING:  # the CD steps import the serving code; only cd_pipeline needs them, at call time
    from llmops.llm.session import LlmSession
    from llmops.serving.endpoint_key import EndpointKey
    from llmops.steps.deploy import DeployResult
    from llmops.steps.register_model import RegisterModelResult
    from llmops.steps.test_endpoint import EndpointTestResult


@dataclass(frozen=True)
class ExperimentPipelineResult:
    data: RegisterDataResult
    experiment: ExperimentResult
    evaluation: EvaluationResult
    report: ReportStepResult
    failure: LlmopsError | None  # raised by the caller once the results are shown
    production: ProductionRunsResult | None = None  # production's runs on the same lines, when a gate compares
    calibration: CalibrationResult | None = None  # the env's LLM judges, pinned and measured on their labels


def experiment_pipeline(workspace: Workspace, use_case: UseCase, env: str, session: LlmSession,
                        variants: str = "each", max_runs: int = 16, progress: ProgressFactory | None = None,
                        backend: Backend | None = None, cancel: bool = False) -> ExperimentPipelineResult:
    """register data -> experiment -> evaluate (and calibrate its judges) -> report -> gates: the PR (and CI) pipeline.

    The report is written even when runs have too many failed lines or a gate fails, so the reason
    can be read in it; the failure is returned for the caller to raise after showing the results.
    `cancel` (--cancel) cancels the job a step still has running on a backend whose jobs outlive the command.
    """
    # Every flow of the pipeline, before the first runs: not an evaluation flow's missing module after the
    # experiment's lines and their LLM calls.
    require_flow_modules(use_case, env, [use_case.standard_flow(env), *use_case.evaluation_flows(env)])
    backend = backend or open_backend(workspace, use_case, env)
    data = register_data(workspace, use_case, env, backend)
    exp = experiment(workspace, use_case, env, session, variants, max_runs, progress, fail_on_failed_lines=False,
                     backend=backend, cancel=cancel)
    ev = evaluate(workspace, use_case, env, session, progress, backend, cancel=cancel)
    production = None
    if compares_with_production(use_case.env(env).GATES):  # production on the same lines, for the gates
        production = run_production(workspace, use_case, env, session, progress, backend)
    calibration = calibrate_judges(workspace, use_case, env, session, "evaluation", progress, backend, cancel=cancel)
    rep = report(workspace, use_case, env, enforce_gates=False, backend=backend)
    failure: LlmopsError | None = None
    if exp.failing_runs:
        details = "; ".join(f"{r.record.name}: {r.record.lines_failed} of {r.record.lines_total} lines failed"
                            for r in exp.failing_runs)
        failure = StepFailed(f"runs over the failed-line threshold {exp.threshold:.0%} "
                             f"(FAILED_LINE_THRESHOLD in llmops_config.json): {details}")
    elif not rep.report.gates_passed:
        failure = GateFailed(str(rep.report.gate_failure_message))
    return ExperimentPipelineResult(data, exp, ev, rep, failure, production, calibration)


@dataclass(frozen=True)
class CdPipelineResult:
    model: RegisterModelResult
    endpoint_started: bool  # False when the endpoint server was already running
    deployment: DeployResult
    endpoint_test: EndpointTestResult


def cd_pipeline(workspace: Workspace, use_case: UseCase, env: str, provider: str = "auto", test_lines: int = 0,
                model_version: int | None = None, key: EndpointKey | None = None,
                backend: Backend | None = None) -> CdPipelineResult:
    """register model -> endpoint up (unless running) -> deploy (0%, smoke test, split) -> test-endpoint: the CD
    pipeline. A failed smoke test or endpoint test raises StepFailed (exit 1). `key`: the endpoint's key."""
    from llmops.steps.deploy import deploy, endpoint_up
    from llmops.steps.register_model import register_model
    from llmops.steps.test_endpoint import test_endpoint

    backend = backend or open_backend(workspace, use_case, env)
    model = register_model(workspace, use_case, env, backend)
    _, started = endpoint_up(workspace, use_case, env, provider, key=key, backend=backend)
    deployed = deploy(workspace, use_case, env, "local", model_version, key, backend)
    tested = test_endpoint(workspace, use_case, env, lines=test_lines, key=key)
    return CdPipelineResult(model, started, deployed, tested)
