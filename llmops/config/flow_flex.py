"""A flex flow: a folder with `flow.flex.yaml`, whose `entry: <module>:<function or class>` is called once per line.

Its inputs are the entry's parameters (or those `inputs:` declares), its outputs the keys of the dict it returns
(`output` when it returns a string or another single value). A class entry is made once per run with its init
arguments: `sample.init` of flow.flex.yaml, overridden by `init.json` beside it (the file prompt flow's examples
pass to `pf flow test --init`).

Where its LLM calls go: a model configuration or connection in its init names a connection (`connection:`, or
`default` when it names none). Code that builds an OpenAI client or loads a prompty from the standard
variables (AZURE_OPENAI_ENDPOINT, OPENAI_API_KEY...) uses the connection `default` too: the engine points those
variables at the gateway for the flow's lines.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from llmops.config.flex_signature import EntryNotFound, EntrySignature, Parameter, read_entry
from llmops.config.flow_base import Flow
from llmops.config.flow_code import external_imports, loaded_files
from llmops.config.flow_prompty import PROMPTY_SUFFIX, read_prompty
from llmops.config.model_config import (
    CONNECTION_CLASSES,
    DEFAULT_CONNECTION,
    MODEL_CONFIG_CLASSES,
    STANDARD_VARIABLES,
    ModelTarget,
    model_target,
)
from llmops.config.problems import Problem, display_path

FLEX_FILES = ("flow.flex.yaml", "flow.flex.yml")
INIT_FILE = "init.json"
ENVIRONMENT_NODE = "environment"  # the "node" of calls made from the standard variables, in call tags
_SDK_MODULES = ("openai", "langchain_openai")
_CONNECTION_REFERENCE = "${"
_INIT_EXAMPLE = '"model_config": {"connection": "aoai", "azure_deployment": "gpt-4o"}'


@dataclass(frozen=True)
class InitModel:
    """An init parameter that reaches an LLM: a model configuration, or a connection object."""

    param: str
    target: ModelTarget
    is_connection: bool


@dataclass(frozen=True)
class FlexFlow(Flow):
    entry: str = ""  # module:name
    init: dict[str, Any] = field(default_factory=dict)  # the init arguments as given
    models: tuple[InitModel, ...] = ()
    environment_connection: str = ""  # the connection the standard variables point at; "" when the code reads none
    is_class: bool = False

    kind = "flex"

    @property
    def entry_module(self) -> str:
        return self.entry.partition(":")[0].strip()

    @property
    def entry_name(self) -> str:
        return self.entry.partition(":")[2].strip()

    @property
    def entry_file(self) -> Path:
        return self.folder / (self.entry_module.replace(".", "/") + ".py")

    def code_files(self) -> list[str]:
        return [self.entry_file.relative_to(self.folder).as_posix()]

    def connections(self) -> list[tuple[str, str]]:
        found = [(model.param, model.target.connection) for model in self.models]
        if self.environment_connection:
            found.append((ENVIRONMENT_NODE, self.environment_connection))
        return found


def find_flex_file(folder: Path) -> Path | None:
    return next((folder / name for name in FLEX_FILES if (folder / name).is_file()), None)


def load_flex(flex_file: Path, root: Path | None, problems: list[Problem]) -> FlexFlow | None:
    folder, shown = flex_file.parent, display_path(flex_file, root)
    raw = _read_yaml(flex_file, shown, problems)
    if raw is None:
        return None
    entry = raw.get("entry")
    module, _, name = str(entry or "").partition(":")
    if not isinstance(entry, str) or not module.strip() or not name.strip():
        problems.append(Problem(shown, "entry", f"'{entry or ''}' is not an entry; name the Python function or "
                                                "class the flow calls as <module>:<name>, e.g. flow:chat"))
        return None
    module_file = folder / (module.strip().replace(".", "/") + ".py")
    if not module_file.is_file():
        problems.append(Problem(shown, "entry", f"'{entry}': module file '{display_path(module_file, root)}' "
                                                "not found"))
        return None
    try:
        signature = read_entry(module_file, name.strip())
    except EntryNotFound:
        problems.append(Problem(shown, "entry", f"'{entry}': {module_file.name} has no function or class "
                                                f"'{name.strip()}'"))
        return None
    if signature is not None and not signature.has_call:
        problems.append(Problem(shown, "entry", f"'{entry}': class {name.strip()} has no __call__ method; a class "
                                                "entry is made once per run and called once per line"))
        return None
    init = _init_values(raw, folder, root, problems)
    if init is None:
        return None
    models = _init_models(raw, signature, init, flex_file, root, problems)
    declared_inputs = raw.get("inputs") if isinstance(raw.get("inputs"), dict) else None
    declared_outputs = raw.get("outputs") if isinstance(raw.get("outputs"), dict) else None
    inputs = ({str(k): (v if isinstance(v, dict) else {"type": str(v)}) for k, v in declared_inputs.items()}
              if declared_inputs else {p.name: p.spec() for p in signature.inputs} if signature else {})
    outputs = ({str(k): (v or {}) for k, v in declared_outputs.items()} if declared_outputs
               else signature.outputs if signature and signature.outputs is not None else None)
    flow = FlexFlow(
        folder=folder, file=flex_file, inputs=inputs, outputs=outputs or {}, raw=raw,
        outputs_known=outputs is not None, open_inputs=signature is None or signature.open_inputs, entry=entry,
        init=init, models=tuple(models), is_class=bool(signature and signature.is_class),
    )
    connection = _environment_connection(flow, raw)
    return replace(flow, environment_connection=connection) if connection else flow


def _read_yaml(file: Path, shown: str, problems: list[Problem]) -> dict[str, Any] | None:
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problems.append(Problem(shown, where, f"invalid YAML: {getattr(exc, 'problem', exc)}"))
        return None
    if not isinstance(raw, dict):
        problems.append(Problem(shown, "", "a flex flow file is a YAML mapping with an entry"))
        return None
    return raw


def _init_values(raw: dict[str, Any], folder: Path, root: Path | None,
                 problems: list[Problem]) -> dict[str, Any] | None:
    """`sample.init` of flow.flex.yaml, then init.json beside it, which wins."""
    sample = raw.get("sample")
    given_sample = sample.get("init") if isinstance(sample, dict) else None
    values = dict(given_sample) if isinstance(given_sample, dict) else {}
    init_file = folder / INIT_FILE
    if init_file.is_file():
        shown = display_path(init_file, root)
        try:
            given = json.loads(init_file.read_text(encoding="utf-8"))
        except ValueError as exc:
            problems.append(Problem(shown, "", f"invalid JSON: {exc}"))
            return None
        if not isinstance(given, dict):
            problems.append(Problem(shown, "", f"the init arguments are one JSON object, e.g. {{{_INIT_EXAMPLE}}}"))
            return None
        values.update(given)
    return values


def _init_models(raw: dict[str, Any], signature: EntrySignature | None, init: dict[str, Any], flex_file: Path,
                 root: Path | None, problems: list[Problem]) -> list[InitModel]:
    params = _init_parameters(raw, signature)
    where = display_path(flex_file.parent / INIT_FILE, root)
    models: list[InitModel] = []
    if signature is not None and not signature.is_class:
        return models
    for param in params:
        if param.name not in init:
            if not param.has_default:
                problems.append(Problem(where, param.name, f"{flex_file.name}'s entry needs this init argument; give "
                                                           f"it in {INIT_FILE} beside it, e.g. {{{_INIT_EXAMPLE}}}"))
            continue
        value = init[param.name]
        if param.annotation in CONNECTION_CLASSES:
            if not isinstance(value, str) or not value.strip():
                problems.append(Problem(where, param.name, "a connection argument is the connection's name, as .env "
                                                           "defines it"))
                continue
            models.append(InitModel(param.name, ModelTarget(value.strip(), CONNECTION_CLASSES[param.annotation], ""),
                                    True))
        elif param.annotation in MODEL_CONFIG_CLASSES:
            target, why = model_target(value, MODEL_CONFIG_CLASSES[param.annotation])
            if target is None:
                problems.append(Problem(where, param.name, why))
                continue
            models.append(InitModel(param.name, target, False))
    known = {p.name for p in params}
    open_init = signature is None or signature.open_init
    for name in init:
        if signature is not None and not open_init and name not in known:
            problems.append(Problem(where, name, f"not a parameter of the entry's __init__ (parameters: "
                                                 f"{', '.join(sorted(known)) or 'none'})"))
    return models


def _init_parameters(raw: dict[str, Any], signature: EntrySignature | None) -> list[Parameter]:
    """The entry's __init__ parameters; the `init:` flow.flex.yaml declares wins, as in prompt flow."""
    declared = raw.get("init")
    if isinstance(declared, dict) and declared:
        return [Parameter(str(name), str((spec or {}).get("type") or "") if isinstance(spec, dict) else str(spec),
                          isinstance(spec, dict) and "default" in spec, (spec or {}).get("default")
                          if isinstance(spec, dict) else None) for name, spec in declared.items()]
    return signature.init if signature is not None else []


def _environment_connection(flow: FlexFlow, raw: dict[str, Any]) -> str:
    """The connection the flow's code reaches through the standard variables, or "" when it does not read them.

    `environment_variables` of flow.flex.yaml may say it (`${<connection>.api_key}`). Else the code is read: a
    file the flow loads that imports the OpenAI SDK or names a standard variable, or, when no init argument
    configures a model, a prompty in the folder that names no connection (so its client reads the variables).
    """
    variables = raw.get("environment_variables")
    for value in (variables.values() if isinstance(variables, dict) else []):
        text = str(value).strip()
        if text.startswith(_CONNECTION_REFERENCE) and "." in text and not text.startswith("${env:"):
            return text[2:].split(".", 1)[0].strip()
    files = loaded_files(flow.folder, [flow.entry_file])
    imports = [line.module.split(".")[0] for line in external_imports(flow.folder, [flow.entry_file])]
    if any(module in _SDK_MODULES for module in imports) or any(_names_a_variable(file) for file in files):
        return DEFAULT_CONNECTION
    if not flow.models:
        for prompty in sorted(flow.folder.rglob(f"*{PROMPTY_SUFFIX}")):
            loaded = read_prompty(prompty, None, [])
            if loaded is not None and loaded.target.connection == DEFAULT_CONNECTION:
                return DEFAULT_CONNECTION
    return ""


def _names_a_variable(file: Path) -> bool:
    try:
        tree = ast.parse(file.read_bytes(), filename=str(file))
    except (SyntaxError, ValueError, OSError):
        return False
    return any(isinstance(node, ast.Constant) and node.value in STANDARD_VARIABLES for node in ast.walk(tree))
