"""A use case: its folder, its four configs and its flows, loaded and validated together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llmops.config.data_config import EXPERIMENT_PURPOSES, PRODUCTION_LOG_PURPOSES, DataConfig, Dataset
from llmops.config.deployment_config import DeploymentConfig
from llmops.config.flow import Flow, flow_name, load_flow
from llmops.config.json_file import load_model
from llmops.config.llmops_config import EnvConfig, LlmopsConfig
from llmops.config.mapping_config import MappingConfig
from llmops.config.problems import Problem
from llmops.config.workspace import Workspace
from llmops.errors import ConfigError, unknown_name

CONFIG_FILES = {
    "llmops": "llmops_config.json",
    "mapping": "configs/mapping_config.json",
    "data": "configs/data_config.json",
    "deployment": "configs/deployment_config.json",
}


@dataclass(frozen=True)
class UseCase:
    name: str
    folder: Path
    root: Path
    llmops: LlmopsConfig
    mapping: MappingConfig
    data: DataConfig
    deployment: DeploymentConfig

    def env(self, name: str) -> EnvConfig:
        env = self.llmops.env(name)
        if env is None:
            raise unknown_name(f"env of use case '{self.name}'", name, self.llmops.env_names,
                               f"Environments are listed in use_cases/{self.name}/llmops_config.json")
        return env

    def path(self, relative: str) -> Path:
        return self.folder / relative

    def standard_flow(self, env: str) -> Flow:
        config = self.env(env)
        index = self.llmops.env_names.index(env)
        return self._flow(config.STANDARD_FLOW_PATH, tuple(config.PROMPTY_VARIANTS),
                          (CONFIG_FILES["llmops"], f"envs[{index}].PROMPTY_VARIANTS"))

    def evaluation_flows(self, env: str) -> list[Flow]:
        return [self._flow(p) for p in self.env(env).evaluation_flow_paths]

    def post_prod_flow(self, env: str) -> Flow | None:
        path = self.env(env).POST_PROD_EVALUATION_FLOW_PATH
        return self._flow(path) if path else None

    def experiment_datasets(self, env: str) -> list[Dataset]:
        """The datasets the env's standard flow runs over: its pr_data and training_data or, in an env that
        judges a production log, that log."""
        return self.data.for_env(env, *EXPERIMENT_PURPOSES) or self.data.for_env(env, *PRODUCTION_LOG_PURPOSES)

    def judges_production_log(self, env: str) -> bool:
        """An env with a production log and nothing to experiment on, such as the original template's
        `postprodeval`: its standard flow is a post-production evaluation flow, so its outputs and metrics
        are the judgements, reported and gated as an evaluation's are."""
        has = self.data.for_env
        return not has(env, *EXPERIMENT_PURPOSES) and bool(has(env, *PRODUCTION_LOG_PURPOSES))

    def experiment_mapping(self, env: str) -> tuple[str, dict[str, str]]:
        """(key path, mapping) of the standard flow's inputs in env. All envs share `experiment`; an env that
        judges a production log may map its flow under evaluation.<flow folder name> instead, since its inputs
        are not those of the other envs' standard flow."""
        if self.judges_production_log(env):
            flow = flow_name(self.env(env).STANDARD_FLOW_PATH)
            if flow in self.mapping.evaluation:
                return f"evaluation.{flow}", self.mapping.evaluation[flow]
        return "experiment", self.mapping.experiment

    def _flow(self, relative: str, variants: tuple[str, ...] = (),
              variants_named_in: tuple[str, str] = ("", "")) -> Flow:
        problems: list[Problem] = []
        flow = load_flow(self.path(relative), self.root, problems, (CONFIG_FILES["llmops"], relative), variants,
                         variants_named_in)
        if flow is None:
            raise ConfigError(problems)
        return flow


def load_use_case(workspace: Workspace, name: str, *, check: bool = True) -> UseCase:
    """Load a use case; with `check`, run every cross-file check and raise ConfigError listing all problems."""
    from llmops.config.validate import check_use_case

    folder = workspace.use_case_dir(name)
    problems: list[Problem] = []
    llmops = load_model(LlmopsConfig, folder / CONFIG_FILES["llmops"], workspace.root, problems)
    mapping = load_model(MappingConfig, folder / CONFIG_FILES["mapping"], workspace.root, problems)
    data = load_model(DataConfig, folder / CONFIG_FILES["data"], workspace.root, problems)
    deployment = load_model(DeploymentConfig, folder / CONFIG_FILES["deployment"], workspace.root, problems)
    if problems or llmops is None or mapping is None or data is None or deployment is None:
        raise ConfigError(problems)
    use_case = UseCase(name=name, folder=folder, root=workspace.root, llmops=llmops, mapping=mapping, data=data,
                       deployment=deployment)
    if check:
        problems = check_use_case(use_case)
        if problems:
            raise ConfigError(problems)
    return use_case
