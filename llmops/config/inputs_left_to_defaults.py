"""Flow inputs that a mapping leaves out, so that they take their default, while the data has a column of that name.

Prompt flow gives an unmapped input its default even when the data has a column of the same name (the
default wins over reading the column), and so does llmops. That is rarely what the author meant: the
original template's post-production flow for named_entity_recognition maps `text` and `entity_type` but not
`llm_result`, so every line judges the default answer, not the logged one. `validate` warns.
"""

from __future__ import annotations

import json

from llmops.config.data_config import Dataset
from llmops.config.flow_base import Flow
from llmops.config.problems import Problem, display_path
from llmops.config.skipped_evaluations import dataset_columns
from llmops.config.use_case import CONFIG_FILES, UseCase


def inputs_left_to_defaults(use_case: UseCase) -> list[Problem]:
    mapping_file = display_path(use_case.folder / CONFIG_FILES["mapping"], use_case.root)
    found: list[Problem] = []
    for env in use_case.llmops.env_names:
        experiment_data = use_case.experiment_datasets(env)
        jobs: list[tuple[str, dict[str, str], Flow, list[Dataset]]] = [
            (*use_case.experiment_mapping(env), use_case.standard_flow(env), experiment_data)]
        jobs += [(f"evaluation.{flow.name}", use_case.mapping.evaluation.get(flow.name, {}), flow,
                  [use_case.data.evaluation_dataset_for(d) for d in experiment_data])
                 for flow in use_case.evaluation_flows(env)]
        for where, mapping, flow, datasets in jobs:
            for name, spec in flow.inputs.items():
                if name in mapping or "default" not in spec:
                    continue
                having = next((d for d in datasets if name in (dataset_columns(use_case, d) or set())), None)
                if having is None:
                    continue
                problem = Problem(mapping_file, where, (
                    f"flow input '{name}' of '{display_path(flow.folder, use_case.folder)}' is not mapped, so every "
                    f"line takes its default ({json.dumps(spec['default'])}), though dataset '{having.DATASET_NAME}' "
                    f"has a column '{name}'; to read the column, {_fix(use_case, env, where, mapping, flow, name)}"))
                if problem not in found:
                    found.append(problem)
    return found


def _fix(use_case: UseCase, env: str, where: str, mapping: dict[str, str], flow: Flow, name: str) -> str:
    entry = f'"{name}": "${{data.{name}}}"'
    if where == "experiment" and use_case.judges_production_log(env):
        # `experiment` is every env's; the other envs' standard flow has no such input.
        entries = ", ".join([*(f'"{k}": "{v}"' for k, v in mapping.items()), entry])
        return (f'map the flow\'s inputs under "evaluation": {{"{flow.name}": {{{entries}}}}}, which env '
                f"'{env}' reads instead of \"experiment\"")
    return f"add {entry} to {where}"
