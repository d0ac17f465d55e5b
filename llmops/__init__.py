"""llmops: a GitOps LLMOps pipeline for prompt flow use cases.

The Python API (what the CLI calls; local_execution/ shows it in use):

    from llmops import Workspace, load_use_case, open_session, experiment_pipeline

    workspace = Workspace.find()
    use_case = load_use_case(workspace, "web_classification")
    flows = [use_case.standard_flow("pr"), *use_case.evaluation_flows("pr")]
    with open_session(workspace, use_case, "pr", flows, provider="replay") as session:
        result = experiment_pipeline(workspace, use_case, "pr", session)

Each step is also importable on its own (llmops.steps.<step>). Names load on first use, so `import llmops`
(and `llmops --help`) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from llmops.version import __version__

# name -> the module that defines it
_EXPORTS = {
    "Workspace": "llmops.config.workspace",
    "UseCase": "llmops.config.use_case",
    "load_use_case": "llmops.config.use_case",
    "open_session": "llmops.llm.open_session",
    "LlmSession": "llmops.llm.session",
    "experiment_pipeline": "llmops.pipelines",
    "open_backend": "llmops.backends",
    "register_data": "llmops.steps.register_data",
    "experiment": "llmops.steps.experiment",
    "evaluate": "llmops.steps.evaluate",
    "register_model": "llmops.steps.register_model",
    "deploy": "llmops.steps.deploy",
    "post_prod_eval": "llmops.steps.post_prod_eval",
    "validate": "llmops.steps.validate",
    "LlmopsError": "llmops.errors",
    "ConfigError": "llmops.errors",
}
__all__ = [
    "__version__", "ConfigError", "LlmSession", "LlmopsError", "UseCase", "Workspace", "deploy", "evaluate",
    "experiment", "experiment_pipeline", "load_use_case", "open_backend", "open_session", "post_prod_eval",
    "register_data", "register_model", "validate",
]  # the report step is llmops.steps.report.report: `llmops.report` is the report package

if TYPE_CHECKING:
    from llmops.backends import open_backend
    from llmops.config.use_case import UseCase, load_use_case
    from llmops.config.workspace import Workspace
    from llmops.errors import ConfigError, LlmopsError
    from llmops.llm.open_session import open_session
    from llmops.llm.session import LlmSession
    from llmops.pipelines import experiment_pipeline
    from llmops.steps.deploy import deploy
    from llmops.steps.evaluate import evaluate
    from llmops.steps.experiment import experiment
    from llmops.steps.post_prod_eval import post_prod_eval
    from llmops.steps.register_data import register_data
    from llmops.steps.register_model import register_model
    from llmops.steps.validate import validate


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'llmops' has no attribute '{name}'")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
