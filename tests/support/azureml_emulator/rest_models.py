"""Request bodies read, and responses written, with the SDK's own REST models (`arm_ml_service.models`).

The generated models are lazy mappings: building one from JSON checks nothing. The service does check,
so `read_body` walks the JSON against each model's declared fields first: a property the model declares
required (a non-Optional annotation, writable on create) must be there, every value must have its
declared type, and a discriminator must name a known subtype. Then it builds the model the way the
SDK's generated client deserializes a response (`model_base._deserialize`).
"""

from __future__ import annotations

import datetime
import enum
import functools
import importlib
import json
import types
import typing
from typing import Any, TypeVar

from azure.ai.ml._restclient.arm_ml_service._utils.model_base import Model, SdkJSONEncoder, _deserialize

from .errors import Problem, bad_request

M = TypeVar("M", bound=Model)

_NONE = type(None)


@functools.cache
def _hints(cls: type[Model]) -> dict[str, Any]:
    cls.__new__(cls)  # the first construction fills in the rest names of the class's fields
    # Annotations name `_models.X` of the class's own package: azure-ai-ml's, or another SDK's (azure-mgmt-web).
    package = importlib.import_module(cls.__module__.rsplit(".", 1)[0])
    return typing.get_type_hints(cls, localns={"_models": package})


def _fields(cls: type[Model]) -> list[tuple[str, Any, Any]]:
    """(rest name, annotation, rest field) of each field `cls` declares."""
    hints = _hints(cls)
    return [(rf._rest_name, hints[attr], rf) for attr, rf in cls._attr_to_rest_field.items() if attr in hints]


def _writable_on_create(rest_field: Any) -> bool:
    return rest_field._visibility is None or "create" in rest_field._visibility


def _is_optional(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and _NONE in typing.get_args(annotation)


def _subtype(
    cls: type[Model], data: dict[str, Any], where: str, problems: list[Problem], seen: tuple[str, ...] = ()
) -> type[Model]:
    """The subtype a discriminated model's JSON names, e.g. CommandJob for {"jobType": "Command"}."""
    mapping = getattr(cls, "__mapping__", None)
    discriminator = cls._get_discriminator(list(seen)) if mapping else None
    if not mapping or discriminator is None:
        return cls
    name = discriminator._rest_name
    value = data.get(name)
    if value is None:
        problems.append(Problem("Required", f"The {name} field is required.", where + name))
        return cls
    if value not in mapping:
        known = ", ".join(sorted(str(key) for key in mapping))
        problems.append(
            Problem("InvalidValue", f"'{value}' is not a valid {name}; expected one of: {known}.", where + name)
        )
        return cls
    subtype = mapping[value]
    return cls if subtype is cls else _subtype(subtype, data, where, problems, (*seen, name))


def _check(annotation: Any, value: Any, where: str, problems: list[Problem]) -> None:
    """Appends to `problems` what is wrong with `value` as an `annotation`."""
    origin = typing.get_origin(annotation)
    if annotation is Any or annotation is object:
        return
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not _NONE]
        if value is None and len(options) < len(typing.get_args(annotation)):
            return
        # Try each option; the value is fine if one of them accepts it (enums arrive as `Union[str, Enum]`).
        attempts: list[list[Problem]] = []
        for option in options:
            found: list[Problem] = []
            _check(option, value, where, found)
            if not found:
                return
            attempts.append(found)
        problems.extend(min(attempts, key=len))
        return
    if origin is typing.Literal:
        allowed = [a.value if isinstance(a, enum.Enum) else a for a in typing.get_args(annotation)]
        if value not in allowed:
            problems.append(Problem("InvalidValue", f"'{value}' is not one of {allowed}.", where))
        return
    if origin in (list, typing.List):  # noqa: UP006
        if not isinstance(value, list):
            problems.append(Problem("InvalidType", "The value must be an array.", where))
            return
        (item,) = typing.get_args(annotation) or (Any,)
        for index, element in enumerate(value):
            _check(item, element, f"{where}[{index}]", problems)
        return
    if origin in (dict, typing.Dict):  # noqa: UP006
        if not isinstance(value, dict):
            problems.append(Problem("InvalidType", "The value must be an object.", where))
            return
        _, item = typing.get_args(annotation) or (str, Any)
        for key, element in value.items():
            _check(item, element, f"{where}.{key}", problems)
        return
    if isinstance(annotation, type) and issubclass(annotation, Model):
        check_model(annotation, value, where + ".", problems)
        return
    if annotation in _SCALARS or (isinstance(annotation, type) and issubclass(annotation, enum.Enum)):
        if not _scalar_fits(annotation, value):
            problems.append(Problem("InvalidType", f"The value must be of type {_type_name(annotation)}.", where))
    # Any other type (bytes, Any-like aliases) is left to the model.


_SCALARS = (str, bool, int, float, datetime.datetime, datetime.timedelta)


def _type_name(annotation: Any) -> str:
    return "string" if isinstance(annotation, type) and issubclass(annotation, enum.Enum) else annotation.__name__


def _scalar_fits(annotation: Any, value: Any) -> bool:
    """Whether the service's JSON reader would take `value` for a scalar property.

    Like Json.NET, it converts between JSON scalars (the SDK sends a number where the model says string,
    e.g. a code snapshot's hash_version), but never takes an object or an array for a scalar.
    """
    if isinstance(value, (dict, list)):
        return False
    if annotation in (int, float) and isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
    if annotation is bool and isinstance(value, str):
        return value.lower() in ("true", "false")
    return True


def check_model(cls: type[Model], data: Any, where: str, problems: list[Problem]) -> None:
    if not isinstance(data, dict):
        problems.append(Problem("InvalidType", f"The value must be a {cls.__name__} object.", where.rstrip(".")))
        return
    cls = _subtype(cls, data, where, problems)
    for rest_name, annotation, rest_field in _fields(cls):
        if rest_name not in data or data[rest_name] is None:
            if _writable_on_create(rest_field) and not _is_optional(annotation):
                problems.append(Problem("Required", f"The {rest_name} field is required.", where + rest_name))
            continue
        if _writable_on_create(rest_field):  # the service ignores read-only properties sent back to it
            _check(annotation, data[rest_name], where + rest_name, problems)


def read_body(cls: type[M], body: bytes) -> M:
    """The request body as a `cls`, or a 400 the way the service words it."""
    try:
        data = json.loads(body or b"null")
    except ValueError as error:
        raise bad_request("The request content was invalid and could not be deserialized: " + str(error)) from error
    if data is None:
        raise bad_request(f"The request body is required: a {cls.__name__} is expected.")
    problems: list[Problem] = []
    check_model(cls, data, "", problems)
    if problems:
        raise bad_request(
            "One or more validation errors occurred: " + " ".join(f"{p.target}: {p.message}" for p in problems),
            problems,
        )
    return typing.cast(M, _deserialize(cls, data))


def to_json(value: Any) -> bytes:
    """A model, or a plain structure holding models, as the JSON the service sends."""
    return json.dumps(value, cls=SdkJSONEncoder).encode()


def copy_model(model: M) -> M:
    """A deep copy, so a stored resource never shares state with what a handler edits."""
    return typing.cast(M, _deserialize(type(model), json.loads(to_json(model))))
