"""A use case whose standard flow is a `.prompty` (with a sibling variant) and whose evaluations are flex flows,
written into a temp repository, and a loopback upstream that answers its prompts sensibly.

- standard `flows/classify/classify.prompty`: names no connection (its key and endpoint are `${env:...}`), so it
  calls the connection `default`, which `.env` defines with the standard variables AZURE_OPENAI_ENDPOINT and
  AZURE_OPENAI_API_KEY; variant `classify_brief.prompty` (PROMPTY_VARIANTS);
- evaluation `flows/judge`: a flex class whose init model configuration (init.json) names connection `aoai`,
  and which calls a prompty of its own with it; `__aggregate__` gives the metric `judge_score`;
- evaluation `flows/grade`: a flex class that builds an OpenAI client from the standard variables itself, as
  prompt flow's `basic` example does; `__aggregate__` gives the metric `accuracy`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.loopback_upstream import LoopbackUpstream
from tests.support.mini_use_case import ROWS

NAME = "prompty_uc"
AOAI_KEY = "stub-aoai-key-0123456789"
DEFAULT_KEY = "stub-default-key-0123456789"

CLASSIFY = """\
---
name: Classify URL
description: Says whether a url is an app store page.
model:
  api: chat
  configuration:
    type: azure_openai
    azure_deployment: gpt-4o
    api_key: ${env:AZURE_OPENAI_API_KEY}
    azure_endpoint: ${env:AZURE_OPENAI_ENDPOINT}
  parameters:
    temperature: 0
    max_tokens: 8
inputs:
  url:
    type: string
sample:
  url: https://apps.example.com/a
---
system:
Answer App when the url is an app store page, else None. One word.

user:
{{url}}
"""
CLASSIFY_BRIEF = CLASSIFY.replace("Answer App when the url is an app store page, else None. One word.",
                                  "App or None?")

JUDGE_FLEX = "entry: judge:Judge\n"
JUDGE_INIT = {"model_config": {"connection": "aoai", "azure_deployment": "gpt-4o"}}
JUDGE_PY = '''\
from pathlib import Path

from promptflow.core import AzureOpenAIModelConfiguration, Prompty

BASE_DIR = Path(__file__).absolute().parent


class Judge:
    def __init__(self, model_config: AzureOpenAIModelConfiguration):
        self.model_config = model_config

    def __call__(self, url: str, prediction: str) -> dict:
        prompty = Prompty.load(source=BASE_DIR / "judge.prompty", model={"configuration": self.model_config})
        return {"score": int(prompty(url=url, prediction=prediction)["score"])}  # a JSON answer comes as a dict

    def __aggregate__(self, line_results: list) -> dict:
        return {"judge_score": sum(r.score for r in line_results) / len(line_results)}
'''
JUDGE_PROMPTY = """\
---
name: Judge
model:
  api: chat
  configuration:
    type: azure_openai
    azure_deployment: gpt-4o
  parameters:
    temperature: 0
    response_format:
      type: json_object
inputs:
  url:
    type: string
  prediction:
    type: string
---
system:
Score from 1 to 5 how well the category fits the url. Answer JSON: {"score": <n>}

user:
url: {{url}}
category: {{prediction}}
"""

GRADE_FLEX = "entry: grade:Grader\nenvironment:\n  python_requirements_txt: requirements.txt\n"
GRADE_PY = '''\
from openai import OpenAI


class Grader:
    def __call__(self, groundtruth: str, prediction: str) -> dict:
        client = OpenAI()  # OPENAI_API_KEY and OPENAI_BASE_URL, as prompt flow's examples read them
        reply = client.chat.completions.create(
            model="gpt-4o", temperature=0, max_tokens=4,
            messages=[{"role": "user", "content": f"Do {prediction!r} and {groundtruth!r} agree? yes or no"}])
        return {"correct": float(prediction.strip().lower() == groundtruth.strip().lower()),
                "agrees": reply.choices[0].message.content.strip()}

    def __aggregate__(self, line_results: list) -> dict:
        return {"accuracy": sum(r["correct"] for r in line_results) / len(line_results)}
'''


def configs() -> dict[str, Any]:
    env = {"STANDARD_FLOW_PATH": "flows/classify/classify.prompty", "PROMPTY_VARIANTS": ["classify_brief.prompty"],
           "EVALUATION_FLOW_PATH": "flows/judge,flows/grade", "GATES": {"accuracy": ">= 0.5"}}
    return {
        "llmops_config.json": {"envs": [{"ENV_NAME": "pr", **env}, {"ENV_NAME": "dev", **env}]},
        "configs/mapping_config.json": {
            "experiment": {"url": "${data.url}"},
            "evaluation": {"judge": {"url": "${data.url}", "prediction": "${run.outputs.output}"},
                           "grade": {"groundtruth": "${data.answer}", "prediction": "${run.outputs.output}"}},
        },
        "configs/data_config.json": {"datasets": [
            {"ENV_NAME": "pr", "DATA_PURPOSE": "pr_data", "DATA_PATH": "data/pr.jsonl", "DATASET_NAME": "urls_pr"},
            {"ENV_NAME": "dev", "DATA_PURPOSE": "training_data", "DATA_PATH": "data/dev.jsonl",
             "DATASET_NAME": "urls_dev"},
            {"ENV_NAME": "dev", "DATA_PURPOSE": "test_data", "DATA_PATH": "data/dev.jsonl",
             "DATASET_NAME": "urls_dev_test", "RELATED_EXP_DATASET": "urls_dev"},
        ]},
        "configs/deployment_config.json": {"local_endpoint": [{
            "ENV_NAME": "dev", "TEST_FILE_PATH": "sample-request.json", "ENDPOINT_NAME": "prompty-uc",
            "CURRENT_DEPLOYMENT_NAME": "blue", "CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION": "100",
            "PRIOR_DEPLOYMENT_NAME": "", "PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION": "",
        }]},
    }


def write_prompty_use_case(root: Path, rows: list[dict[str, Any]] = ROWS) -> Path:
    """Write repo `root` with the use case; returns its folder. `.env` comes from write_env."""
    folder = root / "use_cases" / NAME
    files: dict[str, str] = {
        "flows/classify/classify.prompty": CLASSIFY,
        "flows/classify/classify_brief.prompty": CLASSIFY_BRIEF,
        "flows/judge/flow.flex.yaml": JUDGE_FLEX,
        "flows/judge/init.json": json.dumps(JUDGE_INIT),
        "flows/judge/judge.py": JUDGE_PY,
        "flows/judge/judge.prompty": JUDGE_PROMPTY,
        "flows/grade/flow.flex.yaml": GRADE_FLEX,
        "flows/grade/grade.py": GRADE_PY,
        "flows/grade/requirements.txt": "openai\n",
        "data/pr.jsonl": "".join(json.dumps(r) + "\n" for r in rows),
        "data/dev.jsonl": "".join(json.dumps(r) + "\n" for r in rows),
        "sample-request.json": json.dumps({"url": rows[0]["url"]}),
        **{name: json.dumps(value, indent=2) for name, value in configs().items()},
    }
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def write_env(root: Path, upstream: LoopbackUpstream) -> None:
    """`aoai` as a connection line; `default` from the standard variables, both at `upstream`."""
    aoai = {"api_key": AOAI_KEY, "api_type": "openai", "base_url": upstream.openai_base}
    (root / ".env").write_text(
        f"aoai={json.dumps(aoai)}\nAZURE_OPENAI_ENDPOINT={upstream.url}\nAZURE_OPENAI_API_KEY={DEFAULT_KEY}\n"
        "OPENAI_API_VERSION=2024-02-01\n", encoding="utf-8")


class PromptAnsweringUpstream(LoopbackUpstream):
    """Answers the use case's three prompts: the url's category, a JSON score, and yes/no."""

    def answer(self, path: str, headers: dict[str, str], raw_body: bytes) -> tuple[int, dict[str, str], bytes]:
        status, extra, body = super().answer(path, headers, raw_body)
        if status != 200:
            return status, extra, body
        request = json.loads(raw_body)
        completion = json.loads(body)
        completion["choices"][0]["message"]["content"] = _content(request)
        return status, extra, json.dumps(completion).encode()


def _content(request: dict[str, Any]) -> str:
    user = str(request["messages"][-1]["content"]).strip()
    if (request.get("response_format") or {}).get("type") == "json_object":
        return json.dumps({"score": 5 if ("apps." in user) == ("App" in user.split("category:")[-1]) else 2})
    if user.startswith("Do "):
        return "yes"
    return "App" if "apps." in user else "None"
