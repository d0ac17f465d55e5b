"""Writes throwaway use cases for benchmarks and tests: python-only, or one LLM node with variants."""

from __future__ import annotations

import json
from pathlib import Path

PYTHON_DAG = """\
inputs:
  x: {type: int}
outputs:
  y: {type: int, reference: "${double.output}"}
nodes:
- name: double
  type: python
  source: {type: code, path: double.py}
  inputs: {x: "${inputs.x}"}
"""
DOUBLE_PY = "from promptflow.core import tool\n\n\n@tool\ndef double(x: int) -> int:\n    return 2 * x\n"

LLM_DAG_HEAD = """\
inputs:
  text: {type: string}
outputs:
  answer: {type: string, reference: "${answer.output}"}
nodes:
- name: answer
  use_variants: true
node_variants:
  answer:
    default_variant_id: variant_0
    variants:
"""
LLM_VARIANT = """\
      variant_{i}:
        node:
          type: llm
          source: {{type: code, path: prompt_{i}.jinja2}}
          inputs: {{deployment_name: gpt-35-turbo, temperature: 0, max_tokens: 16, text: "${{inputs.text}}"}}
          connection: aoai
          api: chat
"""


def write(root: Path, name: str, rows: list[dict], llm_variants: int = 0, concurrency: int = 16) -> Path:
    folder = root / "use_cases" / name
    flow = folder / "flows" / "standard"
    flow.mkdir(parents=True, exist_ok=True)
    if llm_variants:
        variants = "".join(LLM_VARIANT.format(i=i) for i in range(llm_variants))
        (flow / "flow.dag.yaml").write_text(LLM_DAG_HEAD + variants)
        for i in range(llm_variants):
            (flow / f"prompt_{i}.jinja2").write_text(f"# system:\nPrompt variant {i}.\n# user:\n{{{{text}}}}\n")
        mapping = {"text": "${data.text}"}
    else:
        (flow / "flow.dag.yaml").write_text(PYTHON_DAG)
        (flow / "double.py").write_text(DOUBLE_PY)
        mapping = {"x": "${data.x}"}
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "lines.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "configs").mkdir(exist_ok=True)
    configs = {
        "llmops_config.json": {"envs": [{"ENV_NAME": "bench", "STANDARD_FLOW_PATH": "flows/standard",
                                         "CONCURRENCY": concurrency, "FAILED_LINE_THRESHOLD": 0.0}]},
        "configs/mapping_config.json": {"experiment": mapping},
        "configs/data_config.json": {"datasets": [{"ENV_NAME": "bench", "DATA_PURPOSE": "pr_data",
                                                   "DATA_PATH": "data/lines.jsonl", "DATASET_NAME": name}]},
        "configs/deployment_config.json": {},
    }
    for rel, value in configs.items():
        (folder / rel).write_text(json.dumps(value))
    return folder
