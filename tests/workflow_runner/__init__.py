"""A local runner for the repository's GitHub workflows: parse a workflow, pick jobs, run their `run:` steps
in order with bash and the GITHUB_* variables and files GitHub sets, evaluate `${{ }}` expressions, emulate
the standard `uses:` actions (or skip them with a reason), and report each job's result, outputs, summary,
artifacts and pull-request comments.

    from tests.workflow_runner import RunnerSettings, WorkflowRunner, events
    settings = RunnerSettings(workspace=copy, out_dir=out, venv=Path(".venv"), event=events.pull_request(7))
    result = WorkflowRunner(settings).run_workflow(".github/workflows/web_classification_pr_dev_workflow.yml")
"""

from tests.workflow_runner import events
from tests.workflow_runner.contexts import RunnerSettings
from tests.workflow_runner.runner import JobResult, WorkflowResult, WorkflowRunner
from tests.workflow_runner.steps import StepResult
from tests.workflow_runner.workflow import Workflow
from tests.workflow_runner.workspace import copy_repository, link_venv

__all__ = [
    "JobResult",
    "RunnerSettings",
    "StepResult",
    "Workflow",
    "WorkflowResult",
    "WorkflowRunner",
    "copy_repository",
    "events",
    "link_venv",
]
