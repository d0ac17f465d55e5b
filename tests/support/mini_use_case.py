"""A minimal, valid use case written into a temp folder; tests break one thing at a time."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

STANDARD_DAG = """\
inputs:
  url:
    type: string
outputs:
  category:
    type: string
    reference: ${classify.output}
nodes:
- name: classify
  use_variants: true
node_variants:
  classify:
    default_variant_id: variant_0
    variants:
      variant_0:
        node:
          type: python
          source: {type: code, path: classify.py}
          inputs: {url: "${inputs.url}", style: plain}
      variant_1:
        node:
          type: python
          source: {type: code, path: classify.py}
          inputs: {url: "${inputs.url}", style: upper}
"""

CLASSIFY_PY = """\
from promptflow.core import tool


@tool
def classify(url: str, style: str) -> str:
    word = "App" if "app" in url else "None"
    return word.upper() if style == "upper" else word
"""

EVAL_DAG = """\
inputs:
  groundtruth:
    type: string
  prediction:
    type: string
outputs:
  accuracy:
    type: double
    reference: ${grade.output}
nodes:
- name: grade
  type: python
  source: {type: code, path: grade.py}
  inputs: {groundtruth: "${inputs.groundtruth}", prediction: "${inputs.prediction}"}
- name: aggregate
  type: python
  source: {type: code, path: aggregate.py}
  inputs: {scores: "${grade.output}"}
  aggregation: true
"""

GRADE_PY = """\
from promptflow.core import tool


@tool
def grade(groundtruth: str, prediction: str) -> float:
    return 1.0 if groundtruth.strip().lower() == prediction.strip().lower() else 0.0
"""

AGGREGATE_PY = """\
from promptflow.core import log_metric, tool


@tool
def aggregate(scores: list) -> float:
    value = sum(scores) / len(scores) if scores else 0.0
    log_metric("accuracy", value)
    return value
"""

ROWS = [
    {"url": "https://apps.example.com/a", "answer": "App"},
    {"url": "https://example.com/b", "answer": "None"},
    {"url": "https://apps.example.com/c", "answer": "App"},
    {"url": "https://example.com/d", "answer": "App"},
]


def configs() -> dict[str, Any]:
    return {
        "llmops_config.json": {"envs": [
            {"ENV_NAME": "pr", "STANDARD_FLOW_PATH": "flows/standard", "EVALUATION_FLOW_PATH": "flows/eval"},
            {"ENV_NAME": "dev", "STANDARD_FLOW_PATH": "flows/standard", "EVALUATION_FLOW_PATH": "flows/eval"},
        ]},
        "configs/mapping_config.json": {
            "experiment": {"url": "${data.url}"},
            "evaluation": {"eval": {"groundtruth": "${data.answer}", "prediction": "${run.outputs.category}"}},
        },
        "configs/data_config.json": {"datasets": [
            {"ENV_NAME": "pr", "DATA_PURPOSE": "pr_data", "DATA_PATH": "data/pr.jsonl", "DATASET_NAME": "mini_pr"},
            {"ENV_NAME": "dev", "DATA_PURPOSE": "training_data", "DATA_PATH": "data/dev.jsonl",
             "DATASET_NAME": "mini_dev"},
            {"ENV_NAME": "dev", "DATA_PURPOSE": "test_data", "DATA_PATH": "data/dev.jsonl",
             "DATASET_NAME": "mini_dev_test", "RELATED_EXP_DATASET": "mini_dev"},
        ]},
        "configs/deployment_config.json": {"local_endpoint": [{
            "ENV_NAME": "dev", "TEST_FILE_PATH": "sample-request.json", "ENDPOINT_NAME": "mini",
            "CURRENT_DEPLOYMENT_NAME": "green", "CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION": "10",
            "PRIOR_DEPLOYMENT_NAME": "blue", "PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION": "90",
        }]},
    }


def write_use_case(root: Path, name: str = "mini") -> Path:
    """Write repo `root` with one valid use case `name`; returns the use case folder."""
    folder = root / "use_cases" / name
    files = {
        "flows/standard/flow.dag.yaml": STANDARD_DAG,
        "flows/standard/classify.py": CLASSIFY_PY,
        "flows/eval/flow.dag.yaml": EVAL_DAG,
        "flows/eval/grade.py": GRADE_PY,
        "flows/eval/aggregate.py": AGGREGATE_PY,
        "data/pr.jsonl": "".join(json.dumps(r) + "\n" for r in ROWS),
        "data/dev.jsonl": "".join(json.dumps(r) + "\n" for r in ROWS * 3),
        "sample-request.json": json.dumps({"url": "https://apps.example.com/z"}),
    }
    for rel, content in {**files, **{k: json.dumps(v, indent=2) for k, v in configs().items()}}.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return folder


def edit_json(path: Path, change: Callable[[Any], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
