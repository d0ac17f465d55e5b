"""Read a JSON config file into a typed model, turning every failure into Problems (never raising)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from llmops.config.nearest_name import did_you_mean
from llmops.config.problems import Problem, display_path, key_path

M = TypeVar("M", bound=BaseModel)


def read_json(path: Path, root: Path | None, problems: list[Problem]) -> Any | None:
    shown = display_path(path, root)
    if not path.is_file():
        problems.append(Problem(shown, "", "file not found; every use case needs it (see the README)"))
        return None
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(
            Problem(shown, f"line {exc.lineno} column {exc.colno}", f"invalid JSON: {exc.msg}")
        )
        return None


def load_model(model: type[M], path: Path, root: Path | None, problems: list[Problem]) -> M | None:
    data = read_json(path, root, problems)
    if data is None:
        return None
    shown = display_path(path, root)
    if not isinstance(data, dict):
        problems.append(Problem(shown, "", f"expected a JSON object at the top level, got {_kind(data)}"))
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            problems.append(Problem(shown, key_path(tuple(err["loc"])), _friendly(err, model)))
        return None


def _kind(value: Any) -> str:
    return {
        dict: "an object", list: "a list", str: "a string", bool: "a boolean",
        int: "a number", float: "a number", type(None): "null",
    }.get(type(value), type(value).__name__)


def _friendly(err: Any, model: type[BaseModel]) -> str:
    kind = err["type"]
    value = err.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        valid = _valid_keys(model, err["loc"])
        if not valid:
            return "unknown key"
        return f"unknown key; {did_you_mean(str(err['loc'][-1]), valid)}valid keys: {', '.join(valid)}"
    if kind in ("string_type", "int_type", "float_type", "bool_type", "dict_type", "list_type",
                "int_parsing", "float_parsing", "bool_parsing"):
        expected = {
            "string": "a string", "int": "a whole number", "float": "a number", "bool": "true or false",
            "dict": "an object", "list": "a list",
        }[kind.split("_")[0]]
        return f"expected {expected}, got {_kind(value)} {json.dumps(value)[:60]}"
    if kind in ("too_short", "string_too_short"):
        return "must not be empty"
    if kind == "string_pattern_mismatch":
        return f"{json.dumps(value)} may hold only letters, digits, '_' and '-'"
    if kind == "literal_error":
        return f"{json.dumps(value)} is not allowed; {err['msg'].replace('Input should be', 'expected')}"
    message = str(err["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    return message


def _valid_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """Walk the model along loc (minus the unknown key itself) to list the keys allowed there."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        if field is None:
            return []
        current = _inner_model(field.annotation)
        if current is None:
            return []
    if not hasattr(current, "model_fields"):
        return []
    return sorted(f.alias or name for name, f in current.model_fields.items())


def _inner_model(annotation: Any) -> Any:
    args = getattr(annotation, "__args__", None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in args or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
