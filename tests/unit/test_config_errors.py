"""Every malformed use case gives exact `<file>: <key path>: <problem>` lines, all reported together."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from llmops.config.use_case import load_use_case
from llmops.config.workspace import Workspace
from llmops.errors import ConfigError
from tests.support.mini_use_case import edit_json, write_use_case

UC = "use_cases/mini"
LC, MC, DC, XC = (f"{UC}/llmops_config.json", f"{UC}/configs/mapping_config.json",
                  f"{UC}/configs/data_config.json", f"{UC}/configs/deployment_config.json")


ENV_KEYS = ("BACKEND, COMPUTE_NAME, CONCURRENCY, ENV_NAME, EVALUATION_FLOW_PATH, FAILED_LINE_THRESHOLD, GATES, "
            "INSTANCE_COUNT, INSTANCE_TYPE, KEYVAULT_NAME, MAX_CONCURRENCY_PER_INSTANCE, "
            "POST_PROD_EVALUATION_FLOW_PATH, PRODUCTION_ENV, PROMPTY_VARIANTS, PROVIDER, RESOURCE_GROUP_NAME, "
            "RUNTIME_NAME, STANDARD_FLOW_PATH, TRIALS, WORKSPACE_NAME")


def env0(key: str, value: object) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        edit_json(folder / "llmops_config.json", lambda d: d["envs"][0].__setitem__(key, value))
    return change


def dataset(i: int, key: str, value: object) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        edit_json(folder / "configs/data_config.json", lambda d: d["datasets"][i].__setitem__(key, value))
    return change


def local(key: str, value: object) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        edit_json(folder / "configs/deployment_config.json",
                  lambda d: d["local_endpoint"][0].__setitem__(key, value))
    return change


def mapping(change_fn: Callable[[dict], None]) -> Callable[[Path], None]:
    return lambda folder: edit_json(folder / "configs/mapping_config.json", change_fn)


def write(rel: str, text: str) -> Callable[[Path], None]:
    return lambda folder: (folder / rel).write_text(text, encoding="utf-8")


def remove(rel: str) -> Callable[[Path], None]:
    return lambda folder: (folder / rel).unlink()


CASES: list[tuple[str, Callable[[Path], None], list[str]]] = [
    ("missing file", remove("configs/mapping_config.json"),
     [f"{MC}: file not found; every use case needs it (see the README)"]),
    ("bad JSON with line number", write("llmops_config.json", '{\n  "envs": [\n  ,\n]}'),
     [f"{LC}: line 3 column 3: invalid JSON: Expecting value"]),
    ("top level not an object", write("configs/data_config.json", "[]"),
     [f"{DC}: expected a JSON object at the top level, got a list"]),
    ("unknown key", env0("WORKSPACE", "ws"),
     [f"{LC}: envs[0].WORKSPACE: unknown key; did you mean 'WORKSPACE_NAME'? valid keys: {ENV_KEYS}"]),
    ("unknown key, nothing near", env0("COLOUR", "blue"),
     [f"{LC}: envs[0].COLOUR: unknown key; valid keys: {ENV_KEYS}"]),
    ("unknown key in lower case", env0("standard_flow_path", "flows/standard"),
     [f"{LC}: envs[0].standard_flow_path: unknown key; did you mean 'STANDARD_FLOW_PATH'? valid keys: {ENV_KEYS}"]),
    ("unknown top-level key", lambda f: edit_json(f / "llmops_config.json", lambda d: d.__setitem__("env", [])),
     [f"{LC}: env: unknown key; did you mean 'envs'? valid keys: $schema, envs"]),
    ("unknown dataset key", dataset(0, "DATASET_NAM", "x"),
     [f"{DC}: datasets[0].DATASET_NAM: unknown key; did you mean 'DATASET_NAME'? valid keys: DATASET_DESC, "
      "DATASET_NAME, DATA_PATH, DATA_PURPOSE, ENV_NAME, PROMPT_FLOW_CONFIG_NAME, RELATED_EXP_DATASET"]),
    ("unknown mapping key", mapping(lambda d: d.__setitem__("evaluations", {})),
     [f"{MC}: evaluations: unknown key; did you mean 'evaluation'? valid keys: $schema, evaluation, experiment"]),
    ("unknown deployment key", local("ENDPOINT", "x"),
     [f"{XC}: local_endpoint[0].ENDPOINT: unknown key; did you mean 'ENDPOINT_NAME'? valid keys: AUTH_KEY_VARIABLE, "
      "CANARY, CURRENT_DEPLOYMENT_NAME, CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION, DEPLOYMENT_DESC, "
      "DEPLOYMENT_INSTANCE_COUNT, DEPLOYMENT_VM_SIZE, ENDPOINT_DESC, ENDPOINT_NAME, ENVIRONMENT_VARIABLES, ENV_NAME, "
      "MAX_REQUEST_BODY_BYTES, "
      "MIRROR_TRAFFIC_ALLOCATION, PRIOR_DEPLOYMENT_NAME, PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION, STICKY_SESSION_HEADER, "
      "TEST_FILE_PATH, WORKERS"]),
    ("canary steps that do not rise to 100", local("CANARY", {"PROMOTION_STEPS": [50, 10]}),
     [f"{XC}: local_endpoint[0].CANARY.PROMOTION_STEPS: must be rising shares from 1 to 100 ending with 100, such as "
      "[10, 50, 100]; got [50, 10]"]),
    ("wrong type", local("DEPLOYMENT_INSTANCE_COUNT", "two"),
     [f'{XC}: local_endpoint[0].DEPLOYMENT_INSTANCE_COUNT: expected a whole number, got a string "two"']),
    ("empty env list", lambda f: edit_json(f / "llmops_config.json", lambda d: d.__setitem__("envs", [])),
     [f"{LC}: envs: must not be empty"]),
    ("duplicate ENV_NAME", env0("ENV_NAME", "dev"),
     [f"{LC}: envs: duplicate ENV_NAME 'dev'; each environment appears once"]),
    ("required key missing", lambda f: edit_json(f / "llmops_config.json",
                                                 lambda d: d["envs"][0].pop("STANDARD_FLOW_PATH")),
     [f"{LC}: envs[0].STANDARD_FLOW_PATH: required key is missing"]),
    ("bad gate", env0("GATES", {"accuracy": "about 0.6"}),
     [f"{LC}: envs[0].GATES: gate for 'accuracy' is 'about 0.6'; expected '<op> <number>' with op one of "
      ">=, >, <=, <, == (for example '>= 0.6')"]),
    ("gate object with nothing to check", env0("GATES", {"accuracy": {}}),
     [f"{LC}: envs[0].GATES: accuracy: gives neither 'threshold' nor 'vs_production'; give one or both"]),
    ("gate object: bad threshold", env0("GATES", {"accuracy": {"threshold": "about 0.6"}}),
     [f"{LC}: envs[0].GATES: accuracy.threshold is 'about 0.6'; expected '<op> <number>' with op one of "
      ">=, >, <=, <, == (for example '>= 0.6')"]),
    ("gate against production: every problem at once", env0("GATES", {"accuracy": {"vs_production": {
        "margin": "5%", "pass": ["fine"], "alpha": 0.05}}}),
     [f"{LC}: envs[0].GATES: accuracy.vs_production.margin: expected a number, got \"5%\"; "
      "accuracy.vs_production.pass[0]: \"fine\" is not a verdict; use better, non-inferior, inconclusive, worse; "
      "accuracy.vs_production.alpha: unknown key; valid keys: threshold, vs_production (and in vs_production: "
      "margin, pass)"]),
    ("gate against production without a margin", env0("GATES", {"accuracy": {"vs_production": {}}}),
     [f"{LC}: envs[0].GATES: accuracy.vs_production.margin: required key is missing"]),
    ("gate against production: negative margin", env0("GATES", {"accuracy": {"vs_production": {"margin": -1}}}),
     [f"{LC}: envs[0].GATES: accuracy.vs_production.margin: must be 0.0 or more (the worst acceptable "
      "difference, as a positive number), got -1.0"]),
    ("evaluation flow missing", env0("EVALUATION_FLOW_PATH", "flows/eval,flows/missing"),
     [f"{LC}: envs[0].EVALUATION_FLOW_PATH: flow folder '{UC}/flows/missing' not found"]),
    ("flow folder without dag", remove("flows/eval/flow.dag.yaml"),
     [f"{UC}/flows/eval: no flow.dag.yaml or flow.flex.yaml in the flow folder"]),
    ("prompty variants of a DAG flow", env0("PROMPTY_VARIANTS", ["short.prompty"]),
     [f"{LC}: envs[0].PROMPTY_VARIANTS: 'flows/standard' is a dag flow; PROMPTY_VARIANTS are variants of a .prompty "
      "standard flow (a DAG flow's variants are its node_variants)"]),
    ("flow dag invalid YAML", write("flows/standard/flow.dag.yaml", "inputs: [\n  url: {\n"),
     [f"{UC}/flows/standard/flow.dag.yaml: line 3 column 1: invalid YAML: expected the node content, "
      "but found '<stream end>'"]),
    ("variant default missing",
     lambda f: (f / "flows/standard/flow.dag.yaml").write_text(
         (f / "flows/standard/flow.dag.yaml").read_text().replace("default_variant_id: variant_0",
                                                                    "default_variant_id: variant_9")),
     [f"{UC}/flows/standard/flow.dag.yaml: node_variants.classify.default_variant_id: 'variant_9' is not one "
      "of its variants: variant_0, variant_1"]),
    ("mapping to a missing column", mapping(lambda d: d["experiment"].__setitem__("url", "${data.link}")),
     [f"{MC}: experiment.url: '${{data.link}}': dataset 'mini_pr' (data/pr.jsonl) has no column 'link' "
      "(columns: answer, url)",
      f"{MC}: experiment.url: '${{data.link}}': dataset 'mini_dev' (data/dev.jsonl) has no column 'link' "
      "(columns: answer, url)"]),
    ("run output missing",
     mapping(lambda d: d["evaluation"]["eval"].__setitem__("prediction", "${run.outputs.label}")),
     [f"{MC}: evaluation.eval.prediction: '${{run.outputs.label}}': the standard flow has no output 'label' "
      "(outputs: category)"]),
    ("required input not mapped", mapping(lambda d: d.__setitem__("experiment", {})),
     [f'{MC}: experiment: flow input \'url\' of \'flows/standard\' is not mapped; add "url": "${{data.url}}"']),
    ("mapped key is not an input", mapping(lambda d: d["experiment"].__setitem__("link", "${data.url}")),
     [f"{MC}: experiment.link: 'link' is not an input of flow 'flows/standard' (inputs: url)"]),
    ("run output in experiment", mapping(lambda d: d["experiment"].__setitem__("url", "${run.outputs.url}")),
     [f"{MC}: experiment.url: '${{run.outputs.url}}': the experiment reads only ${{data.<column>}}; run outputs "
      "exist only for evaluation flows"]),
    ("evaluation mapping missing", mapping(lambda d: d.__setitem__("evaluation", {})),
     [f'{MC}: evaluation: no mapping for evaluation flow \'eval\' (env \'pr\'); add "eval": {{...}}',
      f'{MC}: evaluation: no mapping for evaluation flow \'eval\' (env \'dev\'); add "eval": {{...}}']),
    ("unused evaluation mapping", mapping(lambda d: d["evaluation"].__setitem__("other", {})),
     [f"{MC}: evaluation.other: no env lists an evaluation flow 'other' (EVALUATION_FLOW_PATH in "
      "llmops_config.json)"]),
    ("RELATED_EXP_DATASET unknown", dataset(2, "RELATED_EXP_DATASET", "nope"),
     [f"{DC}: datasets[2].RELATED_EXP_DATASET: 'nope' is not a DATASET_NAME of this file "
      "(names: mini_pr, mini_dev, mini_dev_test)"]),
    ("duplicate DATASET_NAME", dataset(1, "DATASET_NAME", "mini_pr"),
     [f"{DC}: datasets: duplicate DATASET_NAME 'mini_pr'; dataset names are unique"]),
    ("unknown DATA_PURPOSE", dataset(0, "DATA_PURPOSE", "train"),
     [f"{DC}: datasets[0].DATA_PURPOSE: \"train\" is not allowed; expected 'pr_data', 'training_data', "
      "'test_data', 'production_log' or 'post_production_eval_data'"]),
    ("dataset env unknown", dataset(0, "ENV_NAME", "qa"),
     [f"{DC}: datasets[0].ENV_NAME: 'qa' is not an env of llmops_config.json (envs: pr, dev)"]),
    ("data file not found", dataset(0, "DATA_PATH", "data/missing.jsonl"),
     [f"{DC}: datasets[0].DATA_PATH: file not found: 'data/missing.jsonl'"]),
    ("data file empty", write("data/pr.jsonl", "\n"),
     [f"{UC}/data/pr.jsonl: the data file is empty; add at least one JSON line"]),
    ("data line not an object", write("data/pr.jsonl", '{"url": "a", "answer": "App"}\n[1, 2]\n'),
     [f"{UC}/data/pr.jsonl: line 2: expected a JSON object per line"]),
    ("data line invalid JSON", write("data/pr.jsonl", '{"url": "a", "answer": "App"}\n{"url": \n'),
     [f"{UC}/data/pr.jsonl: line 2: invalid JSON: Expecting value at column 9"]),
    ("test file missing", local("TEST_FILE_PATH", "nope.json"),
     [f"{XC}: local_endpoint[0].TEST_FILE_PATH: file not found: 'nope.json'"]),
    ("traffic not whole", local("CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION", "10.5"),
     [f"{XC}: local_endpoint[0].CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION: must be a whole number from 0 to 100, "
      "got '10.5'"]),
    ("traffic above 100", local("PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION", 120),
     [f"{XC}: local_endpoint[0].PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION: must be a whole number from 0 to 100, "
      "got 120"]),
    ("traffic does not sum to 100", local("CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION", "20"),
     [f"{XC}: local_endpoint[0]: CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION (20) + PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION "
      "(90) must sum to 100"]),
    ("mirror above 50", local("MIRROR_TRAFFIC_ALLOCATION", "60"),
     [f"{XC}: local_endpoint[0].MIRROR_TRAFFIC_ALLOCATION: must be at most 50, got 60"]),
]


@pytest.mark.parametrize("name,break_it,expected", CASES, ids=[c[0] for c in CASES])
def test_config_error(tmp_path: Path, name: str, break_it: Callable[[Path], None], expected: list[str]) -> None:
    folder = write_use_case(tmp_path)
    break_it(folder)
    with pytest.raises(ConfigError) as caught:
        load_use_case(Workspace.find(tmp_path), "mini")
    assert [str(p) for p in caught.value.problems] == expected


def test_valid_use_case_loads(tmp_path: Path) -> None:
    write_use_case(tmp_path)
    uc = load_use_case(Workspace.find(tmp_path), "mini")
    assert uc.llmops.env_names == ["pr", "dev"]
    assert uc.standard_flow("pr").variants() == {"classify": ["variant_0", "variant_1"]}


def test_all_problems_reported_together(tmp_path: Path) -> None:
    folder = write_use_case(tmp_path)
    dataset(0, "DATA_PATH", "data/missing.jsonl")(folder)
    local("TEST_FILE_PATH", "nope.json")(folder)
    mapping(lambda d: d["experiment"].__setitem__("link", "${data.url}"))(folder)
    with pytest.raises(ConfigError) as caught:
        load_use_case(Workspace.find(tmp_path), "mini")
    assert len(caught.value.problems) == 3


def test_unknown_use_case_lists_valid_names(tmp_path: Path) -> None:
    write_use_case(tmp_path)
    with pytest.raises(Exception) as caught:
        load_use_case(Workspace.find(tmp_path), "nope")
    assert str(caught.value) == ("unknown use case 'nope'; valid: mini. A use case is a folder under use_cases/ "
                                 "holding llmops_config.json")
