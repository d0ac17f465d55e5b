"""A deployment's declared inputs (a flow's `inputs: {name: {type, default}}`) and a request checked against them.

A request that does not match is answered 400 naming each input, the type it must have and what was sent,
before the flow runs: otherwise prompt flow fails deep inside a node, or quietly runs on a wrong value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from llmops.config.flow_base import Flow

# The JSON values each prompt flow input type takes: an int is a double too; a bool is never an int.
_ACCEPTS: dict[str, tuple[type, ...]] = {"string": (str,), "int": (int,), "double": (int, float), "bool": (bool,),
                                         "list": (list,), "object": (dict,)}
PREVIEW_CHARS = 40


@dataclass(frozen=True)
class FlowInput:
    name: str
    type: str  # prompt flow's value type; others (image, function_list...) are left to prompt flow
    required: bool  # no default in the flow


def declared_inputs(flow: Flow) -> tuple[FlowInput, ...]:
    return tuple(FlowInput(name, str((spec or {}).get("type", "")).lower(), "default" not in (spec or {}))
                 for name, spec in flow.inputs.items())


def kind(value: Any) -> str:
    """A JSON value's type in the flow's words: string, int, double, bool, list, object or null."""
    if value is None:
        return "null"
    names = {bool: "bool", str: "string", int: "int", float: "double", list: "list", dict: "object"}
    return names.get(type(value), type(value).__name__)


def _fits(expected: str, value: Any) -> bool:
    accepted = _ACCEPTS.get(expected)
    if accepted is None:
        return True
    return isinstance(value, accepted) and (bool in accepted or not isinstance(value, bool))


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    text = json.dumps(value, ensure_ascii=False)
    return f"{kind(value)} {text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + '...'}"


def input_problems(declared: tuple[FlowInput, ...], inputs: Any, deployment: str) -> list[str]:
    """Every way `inputs` (the request body) does not fit the deployment's flow; empty when it fits."""
    if not isinstance(inputs, dict):
        return [f"the request body must be a JSON object of flow inputs, got {kind(inputs)}"]
    problems: list[str] = []
    missing = [i.name for i in declared if i.required and i.name not in inputs]
    if missing:
        problems.append(f"missing input(s) {', '.join(repr(m) for m in missing)}; deployment '{deployment}' needs: "
                        + ", ".join(i.name for i in declared if i.required))
    problems.extend(f"input '{i.name}' must be {i.type}, got {_describe(inputs[i.name])}"
                    for i in declared if i.name in inputs and not _fits(i.type, inputs[i.name]))
    return problems
