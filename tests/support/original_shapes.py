"""Use-case folders built to the shapes of the original llmops-promptflow-template's three examples.

Written for these tests, not copied from the original: the flows, prompts and data are our own. What is the
original's is the shape, every config key, data purpose, layout and quirk its folders have, so that a folder
copied from it loads and runs as these do:
- web_classification: node variants; two evaluation flows, listed "a, b" (with a space) in dev; five datasets,
  two of them test_data linked by RELATED_EXP_DATASET; `environment: python_requirements_txt`; `__init__.py`
  in the use case and in a flow; `.promptflow/flow.tools.json`; a flow's docker folder; azure_managed,
  kubernetes (a traffic share written as a number) and webapp deployment blocks; PROMPT_FLOW_CONFIG_NAME;
- named_entity_recognition: a `postprodeval` env whose STANDARD_FLOW_PATH is the post-production evaluation
  flow (an LLM judge) over a `post_production_eval_data` dataset, with no EVALUATION_FLOW_PATH; unit tests
  beside two flows (`cleansing_test.py` imports `cleansing` from its own folder), each flow with a module of
  that same name, and a tests/ folder; requirements listing `promptflow-sdk[builtins]`, which no flow imports;
- math_coding: a pr env whose data has no `groundtruth`, the column its evaluation maps (only dev links a test
  dataset); nodes listed out of their order; an LLM node given both deployment_name and model; evaluation
  inputs with defaults; requirements listing langchain and sympy, which no flow imports.

The LLM is ShapesUpstream, a loopback server that answers each prompt as a good model would, reached through
an Azure-OpenAI-type connection in `.env` (write_azure_connection), as the original's `aoai` connection is.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.support.loopback_upstream import LoopbackUpstream

NAMES = ("web_classification", "named_entity_recognition", "math_coding")
_EMPTY_AZURE = {"RUNTIME_NAME": "", "KEYVAULT_NAME": "", "RESOURCE_GROUP_NAME": "", "WORKSPACE_NAME": ""}


def _env(name: str, standard: str, evaluation: str | None) -> dict[str, str]:
    env = {"ENV_NAME": name, **_EMPTY_AZURE, "STANDARD_FLOW_PATH": standard}
    return {**env, "EVALUATION_FLOW_PATH": evaluation} if evaluation is not None else env


def _dataset(use_case: str, env: str, purpose: str, path: str, name: str, related: str = "") -> dict[str, str]:
    entry = {"PROMPT_FLOW_CONFIG_NAME": use_case, "ENV_NAME": env, "DATA_PURPOSE": purpose, "DATA_PATH": path,
             "DATASET_NAME": name}
    return {**entry, "RELATED_EXP_DATASET": related, "DATASET_DESC": f"{purpose} of {env}"} if related else \
        {**entry, "DATASET_DESC": f"{purpose} of {env}"}


def _deployments(description: str) -> dict[str, Any]:
    online = {"ENV_NAME": "dev", "TEST_FILE_PATH": "sample-request.json", "ENDPOINT_NAME": "",
              "ENDPOINT_DESC": description, "DEPLOYMENT_DESC": "prompt flow deployment", "PRIOR_DEPLOYMENT_NAME": "",
              "PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION": "", "CURRENT_DEPLOYMENT_NAME": "",
              "CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION": "100", "DEPLOYMENT_VM_SIZE": "Standard_F4s_v2",
              "DEPLOYMENT_INSTANCE_COUNT": 1, "ENVIRONMENT_VARIABLES": {"example-name": "example-value"}}
    kubernetes = {**online, "CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION": 100, "COMPUTE_NAME": "", "DEPLOYMENT_VM_SIZE": "",
                  "CPU_ALLOCATION": "", "MEMORY_ALLOCATION": ""}
    webapp = {"ENV_NAME": "dev", "TEST_FILE_PATH": "sample-request.json", "CONNECTION_NAMES": ["aoai"],
              "REGISTRY_NAME": "", "REGISTRY_RG_NAME": "", "APP_PLAN_NAME": "", "WEB_APP_NAME": "",
              "WEB_APP_RG_NAME": "", "WEB_APP_SKU": "B3", "USER_MANAGED_ID": ""}
    return {"azure_managed_endpoint": [online], "kubernetes_endpoint": [kubernetes], "webapp_endpoint": [webapp]}


def _llm_node(name: str, prompt: str, inputs: dict[str, str], max_tokens: int = 64) -> str:
    lines = [f"- name: {name}", "  type: llm", "  source:", "    type: code", f"    path: {prompt}", "  inputs:",
             "    deployment_name: gpt-35-turbo", f"    max_tokens: {max_tokens}",
             *(f"    {key}: {value}" for key, value in inputs.items()),
             "  provider: AzureOpenAI", "  connection: aoai", "  api: chat", "  module: promptflow.tools.aoai"]
    return "\n".join(lines) + "\n"


def _python_node(name: str, path: str, inputs: dict[str, str], aggregation: bool = False) -> str:
    lines = [f"- name: {name}", "  type: python", "  source:", "    type: code", f"    path: {path}"]
    lines += ["  inputs:", *(f"    {key}: {value}" for key, value in inputs.items())] if inputs else ["  inputs: {}"]
    return "\n".join(lines + (["  aggregation: true"] if aggregation else [])) + "\n"


def _jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def _write(folder: Path, files: dict[str, str | dict[str, Any]]) -> Path:
    for relative, content in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content, indent=4), encoding="utf-8")
    return folder


SCHEMA = "$schema: https://azuremlschemas.azureedge.net/promptflow/latest/Flow.schema.json\n"
REQUIREMENTS_ENV = "environment:\n  python_requirements_txt: requirements.txt\n"
TRIVIAL_TEST = "def test_the_use_case_folder_is_importable():\n    assert True\n"

# --- web_classification --------------------------------------------------------------------------------------

PAGES = {  # what the fetch node "downloads": no network in the tests
    "https://apps.example.com/chess": ("A chess game for phones: play online and solve puzzles.", "App"),
    "https://video.example.com/watch/42": ("Watch the talk on ocean currents, 18 minutes.", "Channel"),
    "https://papers.example.org/abs/1234": ("Abstract: we measure the speed of sorting networks.", "Academic"),
    "https://shop.example.com/boots": ("Hiking boots, waterproof, sizes 38 to 47, free delivery.", "Commercial"),
}
WEB_ROWS = [{"url": url, "answer": answer, "evidence": "Both"} for url, (_, answer) in PAGES.items()]

FETCH_PY = '''\
from promptflow import tool

PAGES = {pages}


@tool
def fetch_text_content_from_url(url: str) -> str:
    return PAGES.get(url, "No available content")
'''
CONVERT_PY = '''\
import json

from promptflow import tool


@tool
def convert_to_dict(input_str: str):
    try:
        return json.loads(input_str)
    except Exception:
        return {"category": "None", "evidence": "None"}
'''
EXAMPLES_PY = '''\
from promptflow import tool


@tool
def prepare_examples():
    return [{"url": "https://apps.example.com/maps", "text_content": "Maps for phones.", "category": "App",
             "evidence": "Both"}]
'''
SUMMARIZE = "# system:\nSummarize the page in one sentence.\n\n# user:\n{{text}}\n"
SUMMARIZE_1 = "# system:\nSummarize the page in one short sentence, no more.\n\n# user:\n{{text}}\n"
CLASSIFY = ("# system:\nClassify the web page as App, Channel, Academic, Commercial or None; answer JSON with "
            "category and evidence.\n{% for ex in examples %}{{ex.url}}: {{ex.category}}\n{% endfor %}\n"
            "# user:\nURL: {{url}}\nSummary: {{text_content}}\n")
GRADE_PY = '''\
from promptflow import tool


@tool
def grade(groundtruth: str, prediction: str):
    return "Correct" if groundtruth.lower() == prediction.lower() else "Incorrect"
'''
ACCURACY_PY = '''\
from typing import List

from promptflow import log_metric, tool


@tool
def calculate_accuracy(grades: List[str]):
    accuracy = round(grades.count("Correct") / len(grades), 2)
    log_metric("accuracy", accuracy)
    return grades
'''


def _web_experiment_dag() -> str:
    summarize = ""
    for variant, prompt, tokens in (("variant_0", "summarize_text_content.jinja2", 128),
                                    ("variant_1", "summarize_text_content__variant_1.jinja2", 256)):
        summarize += (f"      {variant}:\n        node:\n" + "".join(
            f"        {line}\n" for line in _llm_node("x", prompt, {"text": "${fetch_text_content_from_url.output}"},
                                                    tokens).splitlines()[1:]))
    return (SCHEMA + "inputs:\n  url:\n    type: string\n    default: https://apps.example.com/chess\n"
            "outputs:\n  category:\n    type: string\n    reference: ${convert_to_dict.output.category}\n"
            "  evidence:\n    type: string\n    reference: ${convert_to_dict.output.evidence}\nnodes:\n"
            + _python_node("fetch_text_content_from_url", "fetch_text_content_from_url.py", {"url": "${inputs.url}"})
            + "- name: summarize_text_content\n  use_variants: true\n"
            + _python_node("prepare_examples", "prepare_examples.py", {})
            + _llm_node("classify_with_llm", "classify_with_llm.jinja2",
                        {"url": "${inputs.url}", "text_content": "${summarize_text_content.output}",
                         "examples": "${prepare_examples.output}"}, 128)
            + _python_node("convert_to_dict", "convert_to_dict.py", {"input_str": "${classify_with_llm.output}"})
            + "node_variants:\n  summarize_text_content:\n    variants:\n" + summarize
            + "    default_variant_id: variant_0\n" + REQUIREMENTS_ENV)


def _grading_dag() -> str:
    return (SCHEMA + "inputs:\n  groundtruth:\n    type: string\n    default: APP\n  prediction:\n    type: string\n"
            "    default: APP\noutputs:\n  grade:\n    type: string\n    reference: ${grade.output}\nnodes:\n"
            + _python_node("grade", "grade.py", {"groundtruth": "${inputs.groundtruth}",
                                                 "prediction": "${inputs.prediction}"})
            + _python_node("calculate_accuracy", "calculate_accuracy.py", {"grades": "${grade.output}"}, True)
            + REQUIREMENTS_ENV)


def write_web_classification(root: Path) -> Path:
    name = "web_classification"
    evaluation = {"groundtruth": "${data.answer}", "prediction": "${run.outputs.category}"}
    grading = {"flow.dag.yaml": _grading_dag(), "grade.py": GRADE_PY, "calculate_accuracy.py": ACCURACY_PY,
               "requirements.txt": "\npromptflow\npromptflow-tools", ".promptflow/flow.tools.json": "{}"}
    files: dict[str, str | dict[str, Any]] = {
        "llmops_config.json": {"envs": [_env("pr", "flows/experiment", "flows/evaluation"),
                                        _env("dev", "flows/experiment", "flows/evaluation, flows/evaluation_adv")]},
        "configs/mapping_config.json": {"experiment": {"url": "${data.url}"},
                                        "evaluation": {"evaluation": evaluation, "evaluation_adv": evaluation}},
        "configs/data_config.json": {"datasets": [
            _dataset(name, "pr", "pr_data", "data/data.jsonl", "web_classification_pr"),
            _dataset(name, "dev", "test_data", "data/eval_data.jsonl", "web_classification_train_eval",
                     "web_classification_train"),
            _dataset(name, "dev", "test_data", "data/eval_data_new.jsonl", "web_classification_train_new_eval",
                     "web_classification_train_new"),
            _dataset(name, "dev", "training_data", "data/data.jsonl", "web_classification_train"),
            _dataset(name, "dev", "training_data", "data/data_new.jsonl", "web_classification_train_new"),
        ]},
        "configs/deployment_config.json": _deployments("An online endpoint serving a flow for web classification"),
        "data/data.jsonl": _jsonl(WEB_ROWS), "data/eval_data.jsonl": _jsonl(WEB_ROWS),
        "data/data_new.jsonl": _jsonl(WEB_ROWS[:2]), "data/eval_data_new.jsonl": _jsonl(WEB_ROWS[:2]),
        "flows/experiment/flow.dag.yaml": _web_experiment_dag(),
        "flows/experiment/fetch_text_content_from_url.py": FETCH_PY.format(
            pages=json.dumps({url: text for url, (text, _) in PAGES.items()})),
        "flows/experiment/prepare_examples.py": EXAMPLES_PY, "flows/experiment/convert_to_dict.py": CONVERT_PY,
        "flows/experiment/summarize_text_content.jinja2": SUMMARIZE,
        "flows/experiment/summarize_text_content__variant_1.jinja2": SUMMARIZE_1,
        "flows/experiment/classify_with_llm.jinja2": CLASSIFY,
        "flows/experiment/requirements.txt": "promptflow\npromptflow[azure]\npromptflow-tools\n",
        "flows/experiment/__init__.py": "", "flows/experiment/.promptflow/flow.tools.json": "{}",
        "flows/experiment/docker/dockerfile": "FROM python:3.11-slim\n",
        **{f"flows/{flow}/{file}": text for flow in ("evaluation", "evaluation_adv") for file, text in grading.items()},
        "__init__.py": "", "tests/test_web_classification.py": TRIVIAL_TEST,
        "environment/Dockerfile": "FROM python:3.11-slim\n",
        "sample-request.json": json.dumps({"url": "https://apps.example.com/chess"}, indent=4),
    }
    return _write(root / "use_cases" / name, files)


# --- named_entity_recognition --------------------------------------------------------------------------------

SENTENCES = [  # text, entity type, the entities; the upstream answers the last one wrong
    ("The pilot and the baker met at the station.", "job title", "pilot, baker"),
    ("Call the clinic on (555) 010-2299 before noon.", "phone number", "(555) 010-2299"),
    ("Marta Ruiz wrote the report with Ken Oduya.", "person", "Marta Ruiz, Ken Oduya"),
    ("The tram to Lisbon leaves at nine.", "city", "Lisbon"),
    ("Our gardener retired last spring.", "job title", "gardener"),
]
WRONG_ANSWER = "spring"
NER_ROWS = [{"text": text, "entity_type": kind, "results": entities} for text, kind, entities in SENTENCES]
PRODUCTION_LOG = [{"text": text, "entity_type": kind, "llm_result": entities} for text, kind, entities in SENTENCES[:4]]

NER_PROMPT = ("# system:\nList the named entities of the given type in the text, comma separated; answer None when "
              "there are none.\n\n# user:\nEntity type: {{entity_type}}\nText: {{text}}\n")
CLEANSING_PY = '''\
from typing import List

from promptflow import tool


@tool
def cleansing(entities_str: str) -> List[str]:
    parts = [part.strip(" .") for part in entities_str.split(",")]
    return [part for part in parts if part and part != "None"]
'''
CLEANSING_TEST = '''\
import unittest

from cleansing import cleansing


class CleansingTest(unittest.TestCase):
    def test_splits_and_trims(self):
        self.assertEqual(cleansing("pilot, baker."), ["pilot", "baker"])
        self.assertEqual(cleansing("None"), [])
'''
MATCH_PY = '''\
from typing import List

from promptflow import tool


def is_match(answer: List[str], ground_truth: List[str]) -> bool:
    return sorted(a.lower() for a in answer) == sorted(g.lower() for g in ground_truth)


@tool
def match(answer: List[str], ground_truth: List[str]) -> dict:
    exact = is_match(answer, ground_truth)
    partial = exact or bool({a.lower() for a in answer} & {g.lower() for g in ground_truth})
    return {"exact_match": int(exact), "partial_match": int(partial)}
'''
MATCH_TEST = '''\
import unittest

from match import is_match


class IsMatchTest(unittest.TestCase):
    def test_order_and_case_do_not_matter(self):
        self.assertTrue(is_match(["Baker", "pilot"], ["pilot", "baker"]))
        self.assertFalse(is_match(["pilot"], ["pilot", "baker"]))
'''
LOG_METRICS_PY = '''\
from typing import List

from promptflow import log_metric, tool


@tool
def log_metrics(match_counts: List[dict]):
    for key in ("exact_match", "partial_match"):
        log_metric(key + "_rate", round(sum(c[key] for c in match_counts) / len(match_counts), 2))
    return match_counts
'''
JUDGE_PROMPT = ("# system:\nScore from 1 to 5 how well the answer lists the entities of the type in the text. "
                "Answer with the number only.\n\n# user:\nEntity type: {{entity}}\nText: {{text}}\n"
                "Answer: {{value}}\n")
CONCAT_PY = '''\
import numpy as np
from promptflow import tool


@tool
def concat_score(llm_score: str) -> float:
    try:
        return float(llm_score)
    except ValueError:
        return np.nan
'''
AVERAGE_PY = '''\
from typing import List

import numpy as np
from promptflow import log_metric, tool


@tool
def aggregate(concatenated_result: List[float]):
    log_metric("average_score", round(float(np.nanmean(concatenated_result)), 2))
    return concatenated_result
'''


def _ner_standard_dag() -> str:
    return (SCHEMA + "inputs:\n  entity_type:\n    type: string\n    default: job title\n  text:\n    type: string\n"
            "    default: The pilot landed.\noutputs:\n  entities:\n    type: string\n"
            "    reference: ${cleansing.output}\nnodes:\n"
            + _llm_node("NER_LLM", "NER_LLM.jinja2", {"text": "${inputs.text}", "entity_type": "${inputs.entity_type}"})
            + _python_node("cleansing", "cleansing.py", {"entities_str": "${NER_LLM.output}"}) + REQUIREMENTS_ENV)


def _ner_evaluation_dag() -> str:
    return (SCHEMA + "inputs:\n  entities:\n    type: list\n    default:\n    - pilot\n  ground_truth:\n"
            "    type: string\n    default: pilot\noutputs:\n  match_cnt:\n    type: object\n"
            "    reference: ${match.output}\nnodes:\n"
            + _python_node("cleansing", "cleansing.py", {"entities_str": "${inputs.ground_truth}"})
            + _python_node("match", "match.py", {"answer": "${inputs.entities}", "ground_truth": "${cleansing.output}"})
            + _python_node("log_metrics", "log_metrics.py", {"match_counts": "${match.output}"}, True)
            + REQUIREMENTS_ENV)


def _ner_judge_dag() -> str:
    # llm_result has a default, so the experiment mapping (text and entity_type only) leaves it to that default
    # on every line, as prompt flow does; validate warns about it.
    return ("id: template_eval_flow\nname: Template Evaluation Flow\n" + REQUIREMENTS_ENV
            + "inputs:\n  text:\n    type: string\n    default: The pilot landed.\n  entity_type:\n    type: string\n"
            "    default: job title\n  llm_result:\n    type: string\n    default: pilot\noutputs:\n  score:\n"
            "    type: string\n    reference: ${concat_scores.output}\nnodes:\n"
            + _llm_node("llm_evaluation", "llm_evaluation.jinja2",
                        {"entity": "${inputs.entity_type}", "text": "${inputs.text}", "value": "${inputs.llm_result}"})
            + _python_node("concat_scores", "concat_scores.py", {"llm_score": "${llm_evaluation.output}"})
            + _python_node("aggregate", "aggregate.py", {"concatenated_result": "${concat_scores.output}"}, True))


def write_named_entity_recognition(root: Path) -> Path:
    name = "named_entity_recognition"
    files: dict[str, str | dict[str, Any]] = {
        "llmops_config.json": {"envs": [_env("pr", "flows/standard", "flows/evaluation"),
                                        _env("dev", "flows/standard", "flows/evaluation"),
                                        _env("postprodeval", "flows/post-production-evaluation", None)]},
        "configs/mapping_config.json": {
            "experiment": {"text": "${data.text}", "entity_type": "${data.entity_type}"},
            "evaluation": {"evaluation": {"ground_truth": "${data.results}", "entities": "${run.outputs.entities}"}},
        },
        "configs/data_config.json": {"datasets": [
            _dataset(name, "pr", "pr_data", "data/data.jsonl", "temp_dataset"),
            _dataset(name, "dev", "test_data", "data/eval_data.jsonl", "named_entity_recognition_test",
                     "named_entity_recognition_train"),
            _dataset(name, "dev", "training_data", "data/data.jsonl", "named_entity_recognition_train"),
            _dataset(name, "postprodeval", "post_production_eval_data", "data/production_log.jsonl",
                     "named_entity_recognition_pp_eval"),
        ]},
        "configs/deployment_config.json": _deployments("An online endpoint serving a flow for named entities"),
        "data/data.jsonl": _jsonl(NER_ROWS), "data/eval_data.jsonl": _jsonl(NER_ROWS),
        "data/production_log.jsonl": _jsonl(PRODUCTION_LOG),
        "flows/standard/flow.dag.yaml": _ner_standard_dag(), "flows/standard/NER_LLM.jinja2": NER_PROMPT,
        "flows/standard/cleansing.py": CLEANSING_PY, "flows/standard/cleansing_test.py": CLEANSING_TEST,
        "flows/standard/requirements.txt": "promptflow\npromptflow-tools\npromptflow-sdk[builtins]\n",
        "flows/standard/.promptflow/flow.tools.json": "{}",
        "flows/evaluation/flow.dag.yaml": _ner_evaluation_dag(), "flows/evaluation/cleansing.py": CLEANSING_PY,
        "flows/evaluation/match.py": MATCH_PY, "flows/evaluation/match_test.py": MATCH_TEST,
        "flows/evaluation/log_metrics.py": LOG_METRICS_PY,
        "flows/evaluation/requirements.txt": "\npromptflow-sdk[builtins]\n",
        "flows/post-production-evaluation/flow.dag.yaml": _ner_judge_dag(),
        "flows/post-production-evaluation/llm_evaluation.jinja2": JUDGE_PROMPT,
        "flows/post-production-evaluation/concat_scores.py": CONCAT_PY,
        "flows/post-production-evaluation/aggregate.py": AVERAGE_PY,
        "flows/post-production-evaluation/requirements.txt": "\n",
        "flows/post-production-evaluation/flow.meta.yaml": "name: post_production_evaluation\ntype: evaluate\n",
        "tests/test_named_entity_recognition.py": TRIVIAL_TEST, "environment/Dockerfile": "FROM python:3.11-slim\n",
        "sample-request.json": json.dumps({"text": SENTENCES[0][0], "entity_type": SENTENCES[0][1]}, indent=4),
    }
    return _write(root / "use_cases" / name, files)


# --- math_coding ---------------------------------------------------------------------------------------------

QUESTIONS = [("What is the sum of 5 and 3?", "5 + 3", "8"), ("Subtract 7 from 10.", "10 - 7", "3"),
             ("Multiply 6 by 4.", "6 * 4", "24"), ("Divide 9 by 3.", "9 / 3", "3")]
MATH_PROMPT = ("# system:\nWrite Python code that prints the answer to the question; reply in JSON with a key "
               "\"code\".\n{% for ex in examples %}{{ex.question}} -> {{ex.code}}\n{% endfor %}\n"
               "# user:\nQUESTION: {{question}}\n")
MATH_EXAMPLES_PY = '''\
from promptflow import tool


@tool
def prepare_example():
    return [{"question": "What is 2 times 21?", "code": '{"code": "print(2 * 21)"}'}]
'''
REFINE_PY = '''\
import json

from promptflow import tool


@tool
def code_refine(original_code: str) -> str:
    try:
        return json.loads(original_code)["code"]
    except json.JSONDecodeError:
        return "JSONDecodeError"
    except Exception as e:
        return "Unknown Error:" + str(e)
'''
EXECUTE_PY = '''\
import ast
import operator

from promptflow import tool

OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _value(node):
    if isinstance(node, ast.Constant):
        return node.value
    return OPERATORS[type(node.op)](_value(node.left), _value(node.right))


@tool
def func_exe(code_snippet: str):
    if code_snippet == "JSONDecodeError" or code_snippet.startswith("Unknown Error:"):
        return code_snippet
    try:  # only print(<arithmetic>): these tests run no generated code
        value = _value(ast.parse(code_snippet).body[0].value.args[0])
    except Exception as e:
        return str(e)
    return str(int(value) if float(value).is_integer() else value)
'''
LINE_PROCESS_PY = '''\
from promptflow import tool


@tool
def line_process(groundtruth: str, prediction: str) -> int:
    try:
        return int(round(float(prediction), 2) == round(float(groundtruth), 2))
    except ValueError:
        return -1
'''
MATH_AGGREGATE_PY = '''\
from typing import List

from promptflow import log_metric, tool


@tool
def accuracy_aggregate(processed_results: List[int]):
    total = len(processed_results)
    log_metric(key="accuracy", value=round(processed_results.count(1) / total, 2))
    log_metric(key="error_rate", value=round(processed_results.count(-1) / total, 2))
    return processed_results
'''


def _math_standard_dag() -> str:
    code_gen = _llm_node("code_gen", "ask_llm.jinja2", {"model": "gpt-3.5-turbo", "question": "${inputs.math_question}",
                                                        "examples": "${math_example.output}"})
    return (SCHEMA + REQUIREMENTS_ENV + "inputs:\n  math_question:\n    type: string\n"
            "    default: What is 2 plus 2?\noutputs:\n  code:\n    type: string\n"
            "    reference: ${code_refine.output}\n"
            "  answer:\n    type: string\n    reference: ${final_code_execution.output}\nnodes:\n"
            + _python_node("final_code_execution", "code_execution.py", {"code_snippet": "${code_refine.output}"})
            + _python_node("math_example", "math_example.py", {})
            + _python_node("code_refine", "code_refine.py", {"original_code": "${code_gen.output}"})
            + code_gen.replace("  module: promptflow.tools.aoai\n", ""))


def _math_evaluation_dag() -> str:
    return (SCHEMA + "inputs:\n  groundtruth:\n    type: string\n    default: \"1\"\n  prediction:\n    type: string\n"
            "    default: \"2\"\noutputs:\n  score:\n    type: string\n    reference: ${line_process.output}\nnodes:\n"
            + _python_node("line_process", "line_process.py", {"groundtruth": "${inputs.groundtruth}",
                                                               "prediction": "${inputs.prediction}"})
            + _python_node("aggregate", "aggregate.py", {"processed_results": "${line_process.output}"}, True))


def write_math_coding(root: Path) -> Path:
    name = "math_coding"
    files: dict[str, str | dict[str, Any]] = {
        "llmops_config.json": {"envs": [_env("pr", "flows/math_standard_flow", "flows/math_evaluation_flow"),
                                        _env("dev", "flows/math_standard_flow", "flows/math_evaluation_flow")]},
        "configs/mapping_config.json": {
            "experiment": {"math_question": "${data.question}"},
            "evaluation": {"math_evaluation_flow": {"groundtruth": "${data.groundtruth}",
                                                    "prediction": "${run.outputs.answer}"}},
        },
        "configs/data_config.json": {"datasets": [
            _dataset(name, "pr", "pr_data", "data/math_data.jsonl", "math_coding_pr"),
            _dataset(name, "dev", "test_data", "data/test_data.jsonl", "math_coding_test", "math_coding_training"),
            _dataset(name, "dev", "training_data", "data/math_data.jsonl", "math_coding_training"),
        ]},
        "configs/deployment_config.json": _deployments("An online endpoint serving a flow for math coding"),
        "data/math_data.jsonl": _jsonl([{"question": q, "answer": a} for q, _, a in QUESTIONS]),
        "data/test_data.jsonl": _jsonl([{"question": q, "groundtruth": a, "answer": a} for q, _, a in QUESTIONS]),
        "flows/math_standard_flow/flow.dag.yaml": _math_standard_dag(),
        "flows/math_standard_flow/ask_llm.jinja2": MATH_PROMPT,
        "flows/math_standard_flow/math_example.py": MATH_EXAMPLES_PY,
        "flows/math_standard_flow/code_refine.py": REFINE_PY, "flows/math_standard_flow/code_execution.py": EXECUTE_PY,
        "flows/math_standard_flow/requirements.txt": (  # no newline at the end, as the original's
            "langchain\nsympy\npromptflow\npromptflow[azure]\npromptflow-tools"),
        "flows/math_standard_flow/docker/dockerfile": "FROM python:3.11-slim\n",
        "flows/math_evaluation_flow/flow.dag.yaml": _math_evaluation_dag(),
        "flows/math_evaluation_flow/line_process.py": LINE_PROCESS_PY,
        "flows/math_evaluation_flow/aggregate.py": MATH_AGGREGATE_PY,
        "tests/test_math_coding.py": TRIVIAL_TEST, "environment/Dockerfile": "FROM python:3.11-slim\n",
        "sample-request.json": json.dumps({"math_question": QUESTIONS[0][0]}, indent=4),
    }
    return _write(root / "use_cases" / name, files)


WRITERS = {"web_classification": write_web_classification, "named_entity_recognition": write_named_entity_recognition,
           "math_coding": write_math_coding}


def write_original_shapes(root: Path, *names: str) -> None:
    for name in names or NAMES:
        WRITERS[name](root)


# --- the LLM -------------------------------------------------------------------------------------------------

class ShapesUpstream(LoopbackUpstream):
    """Answers the prompts of these use cases as a good model would, one NER answer wrong, from their inputs."""

    def answer(self, path: str, headers: dict[str, str], raw_body: bytes) -> tuple[int, dict[str, str], bytes]:
        status, extra, body = super().answer(path, headers, raw_body)
        if status != 200:
            return status, extra, body
        messages = json.loads(raw_body)["messages"]
        completion = json.loads(body)
        completion["choices"][0]["message"]["content"] = shapes_answer(messages[0]["content"], messages[-1]["content"])
        return status, extra, json.dumps(completion).encode()


def shapes_answer(system: str, user: str) -> str:
    field = dict(re.findall(r"^(\w[\w ]*): (.*)$", user, re.M))
    if system.startswith("List the named entities"):
        found = next(entities for text, _, entities in SENTENCES if text == field.get("Text"))
        return WRONG_ANSWER if found == SENTENCES[-1][2] else found
    if system.startswith("Score from 1 to 5"):
        return "4"
    if system.startswith("Summarize"):
        return f"A page about {user.strip()[:40]}"
    if system.startswith("Classify the web page"):
        category = PAGES.get(field.get("URL", ""), ("", "None"))[1]
        return json.dumps({"category": category, "evidence": "Both"})
    if system.startswith("Write Python code"):
        expression = next(code for question, code, _ in QUESTIONS if question == field.get("QUESTION"))
        return json.dumps({"code": f"print({expression})"})
    return "I cannot answer that."


def write_azure_connection(root: Path, upstream: LoopbackUpstream) -> None:
    """`.env` with connection `aoai` of the Azure OpenAI type pointing at `upstream`, as the original's `aoai`."""
    connection = {"api_key": "test-key-0123456789", "api_base": upstream.url, "api_type": "azure",
                  "api_version": "2024-02-01"}
    (root / ".env").write_text(f"aoai={json.dumps(connection)}\n", encoding="utf-8")
