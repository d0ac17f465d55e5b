"""llmops steps on an azureml env in this process, against the emulator, on the env's backend as the CLI opens it.

`azure_mini_use_case` writes the mini use case with env `azure` (BACKEND azureml, the emulator's workspace)
and datasets of its own; `AzureSteps` runs register-data, experiment and evaluate on it with a replay session.
The emulator's nodes are processes of this test run: they inherit its environment, so `use_environment`
(product.py) must have set the managed identity's variables first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.backends import open_backend
from llmops.backends.azureml.settings import AzureVariables
from llmops.config.use_case import load_use_case
from llmops.config.workspace import Workspace
from llmops.llm.providers import Use
from llmops.llm.session import LlmSession, LlmSettings
from llmops.steps.evaluate import evaluate
from llmops.steps.experiment import experiment
from llmops.steps.register_data import register_data
from tests.support.azureml_emulator.emulator import AzureMLEmulator
from tests.support.azureml_emulator.product import ENV, write_azure_use_case
from tests.support.mini_use_case import edit_json

DATASETS = [
    {"ENV_NAME": ENV, "DATA_PURPOSE": "pr_data", "DATA_PATH": "data/dev.jsonl", "DATASET_NAME": "mini_azure"},
    {"ENV_NAME": ENV, "DATA_PURPOSE": "test_data", "DATA_PATH": "data/dev.jsonl", "DATASET_NAME": "mini_azure_test",
     "RELATED_EXP_DATASET": "mini_azure"},
]


def azure_mini_use_case(root: Path, emulator: AzureMLEmulator, **keys: Any) -> Path:
    folder = write_azure_use_case(root, emulator, **keys)
    edit_json(folder / "configs/data_config.json", lambda config: config["datasets"].extend(DATASETS))
    return folder


@dataclass
class AzureSteps:
    root: Path
    variables: Mapping[str, str]
    state_dir: Path | None = None  # another state directory: a fresh CI runner

    def __post_init__(self) -> None:
        self.workspace = Workspace.find(self.root, state_dir=self.state_dir)
        self.use_case = load_use_case(self.workspace, "mini")
        self.backend: Any = open_backend(self.workspace, self.use_case, ENV, AzureVariables(dict(self.variables)))

    def session(self, provider: str = "replay", **settings: Any) -> LlmSession:
        flows = [self.use_case.standard_flow(ENV), *self.use_case.evaluation_flows(ENV)]
        uses = [Use(flow.name, node, connection) for flow in flows for node, connection in flow.connections()]
        llm = LlmSettings(state_dir=self.workspace.state_dir, cassette_dir=self.use_case.folder / "cassettes",
                          provider=provider, **settings)
        return LlmSession(llm, uses)

    def experiment_and_evaluation(self, **options: Any) -> tuple[Any, Any]:
        ws, uc = self.workspace, self.use_case
        register_data(ws, uc, ENV, self.backend)
        with self.session() as session:
            exp = experiment(ws, uc, ENV, session, backend=self.backend, **options)
            ev = evaluate(ws, uc, ENV, session, backend=self.backend, **options)
        return exp, ev
