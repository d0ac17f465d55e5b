"""Cross-file checks of a loaded use case: flows, data files, mappings and deployment blocks agree."""

from __future__ import annotations

import json
from pathlib import Path

from llmops.config.data_config import PRODUCTION_LOG_PURPOSES, Dataset
from llmops.config.datasets import DatasetFile, read_jsonl
from llmops.config.flow import Flow, flow_name, load_flow
from llmops.config.judge_calibration import LABELS_FILE, has_calibration, read_calibration
from llmops.config.judge_flow import is_judge
from llmops.config.mapping_config import DATA_REF, RUN_OUTPUT_REF
from llmops.config.problems import Problem, display_path
from llmops.config.skipped_evaluations import skipped_evaluations
from llmops.config.use_case import CONFIG_FILES, UseCase


class _Checker:
    def __init__(self, use_case: UseCase) -> None:
        self.uc = use_case
        self.problems: list[Problem] = []
        self.flows: dict[tuple[str, tuple[str, ...]], Flow | None] = {}
        self.data: dict[str, DatasetFile | None] = {}

    def file(self, key: str) -> str:
        return display_path(self.uc.folder / CONFIG_FILES[key], self.uc.root)

    def add(self, key: str, path: str, message: str) -> None:
        self.problems.append(Problem(self.file(key), path, message))

    def flow(self, relative: str, where: str, variants: tuple[str, ...] = (), variants_key: str = "") -> Flow | None:
        if (relative, variants) not in self.flows:
            self.flows[(relative, variants)] = load_flow(self.uc.path(relative), self.uc.root, self.problems,
                                                         (self.file("llmops"), where), variants,
                                                         (self.file("llmops"), variants_key))
        return self.flows[(relative, variants)]

    def standard(self, index: int) -> Flow | None:
        env = self.uc.llmops.envs[index]
        return self.flow(env.STANDARD_FLOW_PATH, f"envs[{index}].STANDARD_FLOW_PATH", tuple(env.PROMPTY_VARIANTS),
                         f"envs[{index}].PROMPTY_VARIANTS")

    def dataset(self, ds: Dataset) -> DatasetFile | None:
        if ds.DATASET_NAME not in self.data:
            index = [d.DATASET_NAME for d in self.uc.data.datasets].index(ds.DATASET_NAME)
            path = self.uc.path(ds.DATA_PATH)
            if not path.is_file():
                self.add("data", f"datasets[{index}].DATA_PATH", f"file not found: '{ds.DATA_PATH}'")
                self.data[ds.DATASET_NAME] = None
            else:
                self.data[ds.DATASET_NAME] = read_jsonl(path, self.uc.root, self.problems)
        return self.data[ds.DATASET_NAME]


def check_use_case(use_case: UseCase) -> list[Problem]:
    c = _Checker(use_case)
    envs = use_case.llmops.env_names
    _check_env_flows(c)
    _check_datasets(c, envs)
    _check_experiment_mapping(c)
    _check_evaluation_mappings(c)
    _check_deployments(c, envs)
    _check_calibrations(c)
    return list(dict.fromkeys(c.problems))  # one line per problem even when two envs share a flow


def _check_env_flows(c: _Checker) -> None:
    for i, env in enumerate(c.uc.llmops.envs):
        standard = c.standard(i)
        if env.PROMPTY_VARIANTS and standard is not None and standard.kind != "prompty":
            c.add("llmops", f"envs[{i}].PROMPTY_VARIANTS", f"'{env.STANDARD_FLOW_PATH}' is a {standard.kind} flow; "
                                                          "PROMPTY_VARIANTS are variants of a .prompty standard flow "
                                                          "(a DAG flow's variants are its node_variants)")
        for path in env.evaluation_flow_paths:
            c.flow(path, f"envs[{i}].EVALUATION_FLOW_PATH")
        if env.POST_PROD_EVALUATION_FLOW_PATH:
            c.flow(env.POST_PROD_EVALUATION_FLOW_PATH, f"envs[{i}].POST_PROD_EVALUATION_FLOW_PATH")


def _check_datasets(c: _Checker, envs: list[str]) -> None:
    names = [d.DATASET_NAME for d in c.uc.data.datasets]
    for i, ds in enumerate(c.uc.data.datasets):
        if ds.ENV_NAME not in envs:
            c.add("data", f"datasets[{i}].ENV_NAME",
                  f"'{ds.ENV_NAME}' is not an env of llmops_config.json (envs: {', '.join(envs)})")
        if ds.RELATED_EXP_DATASET and ds.RELATED_EXP_DATASET not in names:
            c.add("data", f"datasets[{i}].RELATED_EXP_DATASET",
                  f"'{ds.RELATED_EXP_DATASET}' is not a DATASET_NAME of this file (names: {', '.join(names)})")
        c.dataset(ds)


def _datasets_of(c: _Checker, datasets: list[Dataset]) -> list[tuple[Dataset, DatasetFile]]:
    out = []
    for ds in datasets:
        loaded = c.dataset(ds)
        if loaded is not None:
            out.append((ds, loaded))
    return out


def _check_mapping(c: _Checker, where: str, mapping: dict[str, str], flow: Flow,
                   data: list[tuple[Dataset, DatasetFile]], standard: Flow | None,
                   run_outputs_allowed: bool) -> None:
    """`standard` is the flow whose outputs `${run.outputs.x}` may name (None: it failed to load)."""
    shown = display_path(flow.path, c.uc.folder)
    for name in flow.required_inputs:
        if name not in mapping:
            c.add("mapping", where, f"flow input '{name}' of '{shown}' is not mapped; "
                                    f"add \"{name}\": \"${{data.{name}}}\"")
    for name, value in mapping.items():
        key = f"{where}.{name}"
        if name not in flow.inputs and not flow.open_inputs:
            c.add("mapping", key, f"'{name}' is not an input of flow '{shown}' "
                                  f"(inputs: {', '.join(flow.inputs) or 'none'})")
        data_ref, run_ref = DATA_REF.match(value), RUN_OUTPUT_REF.match(value)
        if data_ref:
            column = data_ref.group(1)
            for ds, loaded in data:
                missing = loaded.rows_missing(column)
                if missing == len(loaded.rows):
                    c.add("mapping", key, f"'{value}': dataset '{ds.DATASET_NAME}' ({ds.DATA_PATH}) has no "
                                          f"column '{column}' (columns: {', '.join(sorted(loaded.columns))})")
                elif missing:
                    c.add("mapping", key, f"'{value}': column '{column}' is missing in {missing} of "
                                          f"{len(loaded.rows)} lines of '{ds.DATA_PATH}'")
        elif run_ref:
            if not run_outputs_allowed:
                c.add("mapping", key, f"'{value}': the experiment reads only ${{data.<column>}}; "
                                      "run outputs exist only for evaluation flows")
            elif standard is not None and standard.outputs_known and run_ref.group(1) not in standard.outputs:
                c.add("mapping", key, f"'{value}': the standard flow has no output '{run_ref.group(1)}' "
                                      f"(outputs: {', '.join(standard.outputs)})")
        elif value.startswith("${"):
            c.add("mapping", key, f"'{value}' is not a reference of the form ${{data.<column>}} "
                                  "or ${run.outputs.<output>}")


def _check_experiment_mapping(c: _Checker) -> None:
    for i, env in enumerate(c.uc.llmops.envs):
        flow = c.standard(i)
        if flow is None:
            continue
        data = _datasets_of(c, c.uc.experiment_datasets(env.ENV_NAME))
        _check_mapping(c, *c.uc.experiment_mapping(env.ENV_NAME), flow, data, None, False)


def _check_evaluation_mappings(c: _Checker) -> None:
    listed = {flow_name(p) for env in c.uc.llmops.envs
              for p in (*env.evaluation_flow_paths, env.POST_PROD_EVALUATION_FLOW_PATH) if p}
    listed |= {flow_name(env.STANDARD_FLOW_PATH) for env in c.uc.llmops.envs  # see UseCase.experiment_mapping
               if c.uc.judges_production_log(env.ENV_NAME)}
    for i, env in enumerate(c.uc.llmops.envs):
        standard = c.standard(i)
        eval_sets = [c.uc.data.evaluation_dataset_for(d) for d in c.uc.experiment_datasets(env.ENV_NAME)]
        jobs = [(p, eval_sets) for p in env.evaluation_flow_paths]
        if env.POST_PROD_EVALUATION_FLOW_PATH:
            jobs.append((env.POST_PROD_EVALUATION_FLOW_PATH,
                         c.uc.data.for_env(env.ENV_NAME, *PRODUCTION_LOG_PURPOSES)))
        # A skipped evaluation is a note of `validate`, not a problem: its data is not checked against it.
        skipped = {(s.flow, s.dataset) for s in skipped_evaluations(c.uc, env.ENV_NAME, lambda d: _columns(c, d))}
        for path, datasets in jobs:
            flow = c.flow(path, f"envs[{i}].EVALUATION_FLOW_PATH")
            if flow is None:
                continue
            mapping = c.uc.mapping.evaluation.get(flow.name)
            if mapping is None:
                c.add("mapping", "evaluation", f"no mapping for evaluation flow '{flow.name}' "
                                               f"(env '{env.ENV_NAME}'); add \"{flow.name}\": {{...}}")
                continue
            unique = [d for d in {d.DATASET_NAME: d for d in datasets}.values() if (flow.name, d.DATASET_NAME)
                      not in skipped]
            _check_mapping(c, f"evaluation.{flow.name}", mapping, flow, _datasets_of(c, unique), standard, True)
    for name in c.uc.mapping.evaluation:
        if name not in listed:
            c.add("mapping", f"evaluation.{name}", f"no env lists an evaluation flow '{name}' "
                                                   "(EVALUATION_FLOW_PATH in llmops_config.json)")


def _columns(c: _Checker, dataset: Dataset) -> set[str] | None:
    loaded = c.dataset(dataset)
    return loaded.columns if loaded is not None else None


def _check_deployments(c: _Checker, envs: list[str]) -> None:
    for key, i, block in c.uc.deployment.blocks():
        where = f"{key}[{i}]"
        if block.ENV_NAME not in envs:
            c.add("deployment", f"{where}.ENV_NAME",
                  f"'{block.ENV_NAME}' is not an env of llmops_config.json (envs: {', '.join(envs)})")
        test_file = c.uc.path(block.TEST_FILE_PATH)
        if not test_file.is_file():
            c.add("deployment", f"{where}.TEST_FILE_PATH", f"file not found: '{block.TEST_FILE_PATH}'")
            continue
        try:
            json.loads(Path(test_file).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            c.add("deployment", f"{where}.TEST_FILE_PATH",
                  f"'{block.TEST_FILE_PATH}' is not valid JSON (line {exc.lineno}: {exc.msg})")


def _check_calibrations(c: _Checker) -> None:
    """Each judge's calibration set (llmops/config/judge_calibration.py), once per flow."""
    for flow in {f.folder: f for f in c.flows.values() if f is not None}.values():
        if not has_calibration(flow):
            continue
        if not is_judge(flow):
            c.problems.append(Problem(display_path(flow.folder / LABELS_FILE, c.uc.root), "",
                                      f"flow '{flow.name}' calls no LLM, so it has no judge to calibrate; remove the "
                                      "calibration files or put them beside an LLM judge"))
            continue
        read_calibration(flow, c.uc.root, c.problems)
