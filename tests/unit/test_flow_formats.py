"""Every flow format loads into one Flow: a .prompty file, a flex flow folder (flow.flex.yaml) or a DAG folder;
and each way a prompty or a flex flow is malformed is one problem naming the file, the key and the fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmops.config.flow import flow_name, load_flow
from llmops.config.problems import Problem

AZURE = "type: azure_openai\n    azure_deployment: gpt-4o"
QUESTION = {"question": {"type": "string"}}


def prompty(configuration: str = AZURE, inputs: str = "question:\n    type: string", extra: str = "") -> str:
    front = f"name: p\nmodel:\n  api: chat\n  configuration:\n    {configuration}\ninputs:\n  {inputs}\n{extra}"
    return f"---\n{front}---\nsystem:\nHi.\n\nuser:\n{{{{question}}}}\n"


def flex(entry: str, code: str, **files: str) -> dict[str, str]:
    return {"x/flow.flex.yaml": entry, "x/flow.py": code, **{f"x/{name}": text for name, text in files.items()}}


def write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")


def load(root: Path, path: str, variants: tuple[str, ...] = ()) -> tuple[Any, list[str]]:
    problems: list[Problem] = []
    flow = load_flow(root / path, root, problems, ("llmops_config.json", "envs[0].STANDARD_FLOW_PATH"), variants,
                     ("llmops_config.json", "envs[0].PROMPTY_VARIANTS"))
    return flow, [str(p) for p in problems]


CLASS_ENTRY = '''\
from typing import TypedDict

from promptflow.core import AzureOpenAIModelConfiguration


class Result(TypedDict):
    score: int
    why: str


class Judge:
    def __init__(self, model_config: AzureOpenAIModelConfiguration, scale: int = 5):
        self.model_config = model_config

    def __call__(self, answer: str, context: str = "") -> Result:
        return Result(score=1, why="")

    def __aggregate__(self, results: list) -> dict:
        return {}
'''
INIT = json.dumps({"model_config": {"connection": "aoai", "azure_deployment": "gpt-4o"}})

# (case, files, path, variants, (kind, name, inputs, outputs or None when unknown, connections, variants))
LOADED: list[tuple[str, dict[str, str], str, tuple[str, ...], tuple[Any, ...]]] = [
    ("prompty naming a connection", {"f/chat.prompty": prompty("type: openai\n    model: gpt-4o\n    connection: oai")},
     "f/chat.prompty", (), ("prompty", "chat", QUESTION, ["output"], [("chat", "oai")], {})),
    ("prompty of ${env:...} uses the connection default",
     {"f/chat.prompty": prompty(AZURE + "\n    api_key: ${env:AZURE_OPENAI_API_KEY}")},
     "f/chat.prompty", (), ("prompty", "chat", QUESTION, ["output"], [("chat", "default")], {})),
    ("prompty inputs from its sample file, declared outputs",
     {"f/json.prompty": prompty(inputs="{}", extra="outputs:\n  name: {type: string}\n  answer: {type: string}\n"
                                                   "sample: ${file:sample.json}\n"),
      "f/sample.json": json.dumps({"question": "q", "history": []})},
     "f/json.prompty", (), ("prompty", "json", {"question": {"type": "string"}, "history": {"type": "list"}},
                            ["name", "answer"], [("json", "default")], {})),
    ("prompty with sibling variants",
     {"f/chat.prompty": prompty(), "f/short.prompty": prompty(),
      "f/other.prompty": prompty(AZURE + "\n    connection: aoai")},
     "f/chat.prompty", ("short.prompty", "other.prompty"),
     ("prompty", "chat", QUESTION, ["output"],
      [("chat", "default"), ("short", "default"), ("other", "aoai")], {"chat": ["chat", "short", "other"]})),
    ("flex function returning a string",
     flex("entry: flow:chat\n", "def chat(question: str, n: int = 2) -> str:\n    return ''\n"),
     "x", (), ("flex", "x", {**QUESTION, "n": {"type": "int", "default": 2}}, ["output"], [], {})),
    ("flex class: TypedDict outputs, init model configuration",
     {"x/flow.flex.yaml": "entry: judge:Judge\n", "x/judge.py": CLASS_ENTRY, "x/init.json": INIT},
     "x", (), ("flex", "x", {"answer": {"type": "string"}, "context": {"type": "string", "default": ""}},
               ["score", "why"], [("model_config", "aoai")], {})),
    ("flex function returning a dict: outputs known when it runs",
     flex("entry: flow:f\n", "def f(a, **rest) -> dict:\n    return {}\n"),
     "x", (), ("flex", "x", {"a": {"type": ""}}, None, [], {})),
    ("flex inputs declared in flow.flex.yaml win",
     flex("entry: flow:f\ninputs:\n  text: {type: string, default: hi}\n", "def f(text):\n    return text\n"),
     "x", (), ("flex", "x", {"text": {"type": "string", "default": "hi"}}, None, [], {})),
    ("flex code building an OpenAI client uses the connection default",
     flex("entry: flow:f\n", "from llm import ask\n\ndef f(q: str) -> str:\n    return ask(q)\n",
          **{"llm.py": "from openai import OpenAI\n\ndef ask(q):\n    return OpenAI()\n"}),
     "x", (), ("flex", "x", {"q": {"type": "string"}}, ["output"], [("environment", "default")], {})),
    ("flex environment_variables name the connection",
     flex("entry: flow:f\nenvironment_variables:\n  AZURE_OPENAI_API_KEY: ${open_ai_connection.api_key}\n",
          "import os\n\ndef f(q: str) -> str:\n    return os.environ['AZURE_OPENAI_API_KEY']\n"),
     "x", (), ("flex", "x", {"q": {"type": "string"}}, ["output"], [("environment", "open_ai_connection")], {})),
    ("flex loading a prompty that names no connection",
     flex("entry: flow:f\n", "from promptflow.core import Prompty\n\ndef f(question: str) -> str:\n"
          "    return Prompty.load('chat.prompty')()\n", **{"chat.prompty": prompty()}),
     "x", (), ("flex", "x", QUESTION, ["output"], [("environment", "default")], {})),
    ("a folder with a dag and a flex file is a DAG, as prompt flow reads it",
     {"x/flow.dag.yaml": "inputs: {}\noutputs: {}\nnodes: []\n", "x/flow.flex.yaml": "entry: flow:f\n"},
     "x", (), ("dag", "x", {}, [], [], {})),
]


@pytest.mark.parametrize(("files", "path", "variants", "expected"), [c[1:] for c in LOADED], ids=[c[0] for c in LOADED])
def test_loaded(tmp_path: Path, files: dict[str, str], path: str, variants: tuple[str, ...],
                expected: tuple[Any, ...]) -> None:
    write(tmp_path, files)
    flow, problems = load(tmp_path, path, variants)
    assert problems == []
    outputs = list(flow.outputs) if flow.outputs_known else None
    assert (flow.kind, flow.name, flow.inputs, outputs, flow.connections(), flow.variants()) == expected
    assert flow.name == flow_name(path) and flow.path == tmp_path / path


PROBLEMS: list[tuple[str, dict[str, str], str, tuple[str, ...], list[str]]] = [
    ("prompty without front matter", {"f/p.prompty": "system:\nhi\n"}, "f/p.prompty", (),
     ["f/p.prompty: no front matter: a prompty starts with YAML (model, inputs) between two '---' lines, then the "
      "prompt template"]),
    ("prompty with invalid YAML", {"f/p.prompty": "---\nmodel: [\n---\nhi\n"}, "f/p.prompty", (),
     ["f/p.prompty: front matter line 2: invalid YAML: expected the node content, but found '<stream end>'"]),
    ("prompty of an unknown type", {"f/p.prompty": prompty("type: anthropic")}, "f/p.prompty", (),
     ["f/p.prompty: model.configuration: type 'anthropic' is not supported; use azure_openai or openai"]),
    ("prompty file not found", {}, "f/p.prompty", (),
     ["llmops_config.json: envs[0].STANDARD_FLOW_PATH: flow file 'f/p.prompty' not found"]),
    ("folder holding only prompties", {"f/p.prompty": prompty()}, "f", (),
     ["f: no flow.dag.yaml or flow.flex.yaml in the flow folder; to use a prompty, name its file: f/p.prompty"]),
    ("flex without entry", {"x/flow.flex.yaml": "inputs: {}\n"}, "x", (),
     ["x/flow.flex.yaml: entry: '' is not an entry; name the Python function or class the flow calls as "
      "<module>:<name>, e.g. flow:chat"]),
    ("flex entry module missing", {"x/flow.flex.yaml": "entry: app:run\n"}, "x", (),
     ["x/flow.flex.yaml: entry: 'app:run': module file 'x/app.py' not found"]),
    ("flex entry name missing", {"x/flow.flex.yaml": "entry: flow:run\n", "x/flow.py": "def chat():\n    pass\n"},
     "x", (), ["x/flow.flex.yaml: entry: 'flow:run': flow.py has no function or class 'run'"]),
    ("flex class without __call__", {"x/flow.flex.yaml": "entry: flow:F\n", "x/flow.py": "class F:\n    pass\n"},
     "x", (), ["x/flow.flex.yaml: entry: 'flow:F': class F has no __call__ method; a class entry is made once per "
               "run and called once per line"]),
    ("flex init argument missing", {"x/flow.flex.yaml": "entry: judge:Judge\n", "x/judge.py": CLASS_ENTRY}, "x", (),
     ["x/init.json: model_config: flow.flex.yaml's entry needs this init argument; give it in init.json beside it, "
      'e.g. {"model_config": {"connection": "aoai", "azure_deployment": "gpt-4o"}}']),
    ("flex init.json not an object",
     {"x/flow.flex.yaml": "entry: judge:Judge\n", "x/judge.py": CLASS_ENTRY, "x/init.json": "[1]"}, "x", (),
     ['x/init.json: the init arguments are one JSON object, e.g. {"model_config": {"connection": "aoai", '
      '"azure_deployment": "gpt-4o"}}']),
    ("flex init argument unknown",
     {"x/flow.flex.yaml": "entry: judge:Judge\n", "x/judge.py": CLASS_ENTRY,
      "x/init.json": json.dumps({**json.loads(INIT), "temperature": 0})}, "x", (),
     ["x/init.json: temperature: not a parameter of the entry's __init__ (parameters: model_config, scale)"]),
    ("variant not a sibling file name", {"f/p.prompty": prompty()}, "f/p.prompty", ("../q.prompty", "q.txt"),
     ["llmops_config.json: envs[0].PROMPTY_VARIANTS[0]: '../q.prompty' is not the name of a .prompty file beside "
      "f/p.prompty; name sibling files, e.g. concise.prompty",
      "llmops_config.json: envs[0].PROMPTY_VARIANTS[1]: 'q.txt' is not the name of a .prompty file beside "
      "f/p.prompty; name sibling files, e.g. concise.prompty"]),
    ("variant is the flow itself, or missing", {"f/p.prompty": prompty()}, "f/p.prompty", ("p.prompty", "q.prompty"),
     ["llmops_config.json: envs[0].PROMPTY_VARIANTS[0]: 'p.prompty' is the standard flow itself (the default "
      "variant); list only its other variants",
      "llmops_config.json: envs[0].PROMPTY_VARIANTS[1]: file not found: 'f/q.prompty'"]),
    ("variant with other outputs or inputs",
     {"f/p.prompty": prompty(), "f/q.prompty": prompty(extra="outputs:\n  answer: {type: string}\n"),
      "f/r.prompty": prompty(inputs="question: {type: string}\n  tone: {type: string}")},
     "f/p.prompty", ("q.prompty", "r.prompty"),
     ["f/q.prompty: outputs answer differ from those of p.prompty (output); evaluations read the same outputs of "
      "every variant",
      "f/r.prompty: input(s) tone are not inputs of p.prompty, so the experiment mapping gives them nothing; a "
      "variant takes the inputs of the flow it varies"]),
]


@pytest.mark.parametrize(("files", "path", "variants", "expected"), [c[1:] for c in PROBLEMS],
                         ids=[c[0] for c in PROBLEMS])
def test_problems(tmp_path: Path, files: dict[str, str], path: str, variants: tuple[str, ...],
                  expected: list[str]) -> None:
    write(tmp_path, files)
    assert load(tmp_path, path, variants)[1] == expected


def test_a_model_configuration_names_its_model(tmp_path: Path) -> None:
    write(tmp_path, {"f/p.prompty": prompty("type: azure_openai\n    connection: aoai")})
    assert load(tmp_path, "f/p.prompty")[1] == [
        "f/p.prompty: model.configuration: names no azure_deployment: the deployment (or model) every call asks for, "
        "e.g. azure_deployment: gpt-4o"]
