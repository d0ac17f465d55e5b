"""The flow a model version holds: its snapshot folder, and in it the file that defines the flow.

register-model records the flow's file in the lineage (`flow_file`: flow.dag.yaml, flow.flex.yaml or a
prompty's `<name>.prompty`) and a prompty's variants (`flow_variants`), since a snapshot is a folder and a
prompty's folder may hold several prompties. A model registered before either was recorded is a DAG folder.
"""

from __future__ import annotations

from llmops.backends.types import ModelVersion
from llmops.config.flow import Flow, load_flow
from llmops.config.problems import Problem
from llmops.errors import ConfigError


def model_flow(model: ModelVersion) -> Flow:
    flow_file = str(model.lineage.get("flow_file") or "")
    path = model.snapshot / flow_file if flow_file else model.snapshot
    variants = tuple(str(v) for v in model.lineage.get("flow_variants") or ())
    problems: list[Problem] = []
    flow = load_flow(path, None, problems, (f"model {model.name} version {model.version}", "snapshot"), variants)
    if flow is None:
        raise ConfigError(problems)
    return flow
