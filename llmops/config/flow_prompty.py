"""A `.prompty` file as a flow: its front matter's inputs, outputs and model configuration, and its variants.

A prompty is a markdown file whose YAML front matter (between `---` lines) names the model, its inputs and
optionally its outputs; prompt flow calls the model with the rendered template. Read with PyYAML, as prompt
flow reads it, so validation never imports prompt flow.

Variants of a prompty standard flow are sibling `.prompty` files listed in PROMPTY_VARIANTS of
llmops_config.json: one "node" named after the flow, whose variant ids are the files' stems (the flow's own
file is the default). They share the flow's inputs and outputs, so one mapping and one evaluation fit them all.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from llmops.config.flow_base import Flow
from llmops.config.model_config import ModelTarget, model_target
from llmops.config.problems import Problem, display_path

PROMPTY_SUFFIX = ".prompty"
# As prompt flow splits a prompty: the YAML between the first `---` line and the last one before the template.
_FRONT_MATTER = re.compile(r"-{3,}\n(.*)-{3,}\n(.*)", re.DOTALL)
_FILE_REFERENCE = re.compile(r"^\$\{file:(.*)\}$")
_VALUE_TYPES = ((bool, "bool"), (str, "string"), (int, "int"), (float, "double"), (list, "list"), (dict, "object"))


@dataclass(frozen=True)
class PromptyFile:
    file: Path
    front: dict[str, Any]
    target: ModelTarget
    inputs: dict[str, dict[str, Any]]
    outputs: dict[str, dict[str, Any]]

    @property
    def stem(self) -> str:
        return self.file.stem


@dataclass(frozen=True)
class PromptyFlow(Flow):
    target: ModelTarget | None = None
    variant_files: tuple[PromptyFile, ...] = ()

    kind = "prompty"

    @property
    def name(self) -> str:
        return self.file.stem

    @property
    def path(self) -> Path:
        return self.file

    def variants(self) -> dict[str, list[str]]:
        if not self.variant_files:
            return {}
        return {self.name: [self.name, *(v.stem for v in self.variant_files)]}

    def default_variants(self) -> dict[str, str]:
        return {self.name: self.name} if self.variant_files else {}

    def variant_file_names(self) -> list[str]:
        return [v.file.name for v in self.variant_files]

    def connections(self) -> list[tuple[str, str]]:
        targets = [(self.name, self.target), *((v.stem, v.target) for v in self.variant_files)]
        return [(stem, target.connection) for stem, target in targets if target is not None]


def variant_file_name(flow_file: str, variant: dict[str, str]) -> str:
    """The file (beside `flow_file`) a prompty flow runs with `variant` applied: `{<flow>: <stem>}` or none."""
    stem = variant.get(Path(flow_file).stem)
    return f"{stem}{PROMPTY_SUFFIX}" if stem else Path(flow_file).name


def read_prompty(file: Path, root: Path | None, problems: list[Problem]) -> PromptyFile | None:
    shown = display_path(file, root)
    try:
        text = file.read_text(encoding="utf-8").replace("\r\n", "\n")
    except OSError as exc:
        problems.append(Problem(shown, "", f"cannot be read: {exc.strerror or exc}"))
        return None
    match = _FRONT_MATTER.search(text)
    if match is None:
        problems.append(Problem(shown, "", "no front matter: a prompty starts with YAML (model, inputs) between "
                                           "two '---' lines, then the prompt template"))
        return None
    try:
        front = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"front matter line {mark.line + 1}" if mark else "front matter"
        problems.append(Problem(shown, where, f"invalid YAML: {getattr(exc, 'problem', exc)}"))
        return None
    if not isinstance(front, dict):
        problems.append(Problem(shown, "front matter", "must be a YAML mapping (model, inputs, outputs...)"))
        return None
    model = front.get("model") or {}
    target, why = model_target(model.get("configuration") if isinstance(model, dict) else model)
    if target is None:
        problems.append(Problem(shown, "model.configuration", why))
        return None
    inputs = _inputs(file, front, shown, problems)
    outputs = {str(k): (v or {}) for k, v in (front.get("outputs") or {}).items()} or {"output": {"type": "string"}}
    return PromptyFile(file, front, target, inputs, outputs)


def _inputs(file: Path, front: dict[str, Any], shown: str, problems: list[Problem]) -> dict[str, dict[str, Any]]:
    """The declared inputs; without any, those of the sample (prompt flow's rule), each required."""
    declared = front.get("inputs")
    if isinstance(declared, dict) and declared:
        return {str(k): (v if isinstance(v, dict) else {"type": str(v)}) for k, v in declared.items()}
    sample = front.get("sample")
    reference = _FILE_REFERENCE.match(sample.strip()) if isinstance(sample, str) else None
    if reference:
        try:
            sample = json.loads((file.parent / reference.group(1)).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            problems.append(Problem(shown, "sample", f"'{sample}' cannot be read as JSON: {exc}"))
            return {}
    if not isinstance(sample, dict):
        return {}
    return {str(k): {"type": next((t for kind, t in _VALUE_TYPES if isinstance(v, kind)), "string")}
            for k, v in sample.items()}


def load_prompty(file: Path, root: Path | None, problems: list[Problem], variants: tuple[str, ...] = (),
                 variants_named_in: tuple[str, str] = ("", "")) -> PromptyFlow | None:
    main = read_prompty(file, root, problems)
    if main is None:
        return None
    found: list[PromptyFile] = []
    config_file, key = variants_named_in
    for index, name in enumerate(variants):
        variant = _variant(file, name, root, problems, (config_file, f"{key}[{index}]" if key else ""))
        if variant is None:
            continue
        problem = _differs(main, variant)
        if problem:
            problems.append(Problem(display_path(variant.file, root), "", problem))
        elif variant.stem not in {v.stem for v in found}:
            found.append(variant)
    return PromptyFlow(folder=file.parent, file=file, inputs=main.inputs, outputs=main.outputs, raw=main.front,
                       target=main.target, variant_files=tuple(found))


def _variant(main: Path, name: str, root: Path | None, problems: list[Problem],
             named_in: tuple[str, str]) -> PromptyFile | None:
    if "/" in name or "\\" in name or not name.endswith(PROMPTY_SUFFIX):
        problems.append(Problem(*named_in, f"'{name}' is not the name of a .prompty file beside "
                                           f"{display_path(main, root)}; name sibling files, e.g. concise.prompty"))
        return None
    if name == main.name:
        problems.append(Problem(*named_in, f"'{name}' is the standard flow itself (the default variant); list only "
                                           "its other variants"))
        return None
    file = main.parent / name
    if not file.is_file():
        problems.append(Problem(*named_in, f"file not found: '{display_path(file, root)}'"))
        return None
    return read_prompty(file, root, problems)


def _differs(main: PromptyFile, variant: PromptyFile) -> str:
    """Why `variant` cannot stand in for `main`: the mapping gives main's inputs and evaluations read its outputs."""
    extra = [name for name, spec in variant.inputs.items() if name not in main.inputs and "default" not in spec]
    if extra:
        return (f"input(s) {', '.join(extra)} are not inputs of {main.file.name}, so the experiment mapping gives "
                f"them nothing; a variant takes the inputs of the flow it varies")
    if set(variant.outputs) != set(main.outputs):
        return (f"outputs {', '.join(variant.outputs)} differ from those of {main.file.name} "
                f"({', '.join(main.outputs)}); evaluations read the same outputs of every variant")
    return ""
