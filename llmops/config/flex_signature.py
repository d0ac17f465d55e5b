"""A flex flow's entry read with `ast` from its module (nothing is imported or run): the function, or the class
and its `__call__`, with their parameters, what they return, and the class's `__init__` and `__aggregate__`.

prompt flow reads the same from the imported entry; reading the source keeps `validate` fast and free of the
flow's dependencies. An entry that the module only imports (not defined in it) has an unknown signature.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Python annotations -> prompt flow's value types (the types the endpoint checks requests against).
_VALUE_TYPES = {"str": "string", "int": "int", "float": "double", "bool": "bool", "list": "list", "List": "list",
                "Sequence": "list", "dict": "object", "Dict": "object", "Mapping": "object"}
_PRIMITIVE_RETURNS = {"str", "int", "float", "bool", "list", "List"}
_NO_DEFAULT = object()


@dataclass(frozen=True)
class Parameter:
    name: str
    annotation: str  # the annotation's class name ("str", "AzureOpenAIModelConfiguration"); "" when none
    has_default: bool
    default: Any = None  # the default when it is a literal

    def spec(self) -> dict[str, Any]:
        """As a flow input: {"type": ..., "default": ...} (the default only when there is one)."""
        spec: dict[str, Any] = {"type": _VALUE_TYPES.get(self.annotation, "")}
        if self.has_default:
            spec["default"] = self.default
        return spec


@dataclass(frozen=True)
class EntrySignature:
    is_class: bool
    inputs: list[Parameter]
    open_inputs: bool  # takes **kwargs
    outputs: dict[str, dict[str, Any]] | None  # None: not known before the entry runs
    init: list[Parameter] = field(default_factory=list)
    open_init: bool = False
    has_call: bool = True  # a class entry must have __call__


class EntryNotFound(Exception):
    """The module neither defines nor imports the entry's name."""


def read_entry(module_file: Path, name: str) -> EntrySignature | None:
    """The entry `name` of `module_file`; None when the module imports it rather than defines it (or cannot be
    parsed: prompt flow says why when it loads). EntryNotFound when the name is not there at all."""
    try:
        tree = ast.parse(module_file.read_bytes(), filename=str(module_file))
    except (SyntaxError, ValueError, OSError):
        return None
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            inputs, open_inputs = _parameters(node.args, skip_self=False)
            return EntrySignature(False, inputs, open_inputs, _outputs(node.returns, classes))
        if isinstance(node, ast.ClassDef) and node.name == name:
            return _class_entry(node, classes)
    if name in _imported_names(tree):
        return None
    raise EntryNotFound(name)


def _class_entry(node: ast.ClassDef, classes: dict[str, ast.ClassDef]) -> EntrySignature:
    methods = {m.name: m for m in node.body if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef)}
    init, open_init = _parameters(methods["__init__"].args, skip_self=True) if "__init__" in methods else ([], False)
    call = methods.get("__call__")
    if call is None:
        return EntrySignature(True, [], True, None, init, open_init, has_call=False)
    inputs, open_inputs = _parameters(call.args, skip_self=True)
    return EntrySignature(True, inputs, open_inputs, _outputs(call.returns, classes), init, open_init)


def _parameters(args: ast.arguments, skip_self: bool) -> tuple[list[Parameter], bool]:
    positional = [*args.posonlyargs, *args.args][1 if skip_self else 0:]
    defaults: list[Any] = [_NO_DEFAULT] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = [*zip(positional, defaults, strict=True), *zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    found = [Parameter(arg.arg, _class_name(arg.annotation), default is not _NO_DEFAULT and default is not None,
                       _literal(default)) for arg, default in pairs]
    return found, args.kwarg is not None


def _literal(node: Any) -> Any:
    if not isinstance(node, ast.expr):
        return None
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def _class_name(annotation: ast.expr | None) -> str:
    """`str` -> str; `typing.List[str]` -> List; `Optional[X]` and `X | None` -> X; `"X"` -> X."""
    if annotation is None:
        return ""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            return _class_name(ast.parse(annotation.value, mode="eval").body)
        except SyntaxError:
            return ""
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        left = _class_name(annotation.left)
        return left if left not in ("", "None") else _class_name(annotation.right)
    if isinstance(annotation, ast.Subscript):
        outer = _class_name(annotation.value)
        return _class_name(annotation.slice) if outer == "Optional" else outer
    if isinstance(annotation, ast.Attribute):
        return annotation.attr
    if isinstance(annotation, ast.Name):
        return annotation.id
    return ""


def _outputs(returns: ast.expr | None, classes: dict[str, ast.ClassDef]) -> dict[str, dict[str, Any]] | None:
    """`-> str` is one output named `output` (prompt flow's name); a TypedDict or dataclass of the module gives
    its fields; anything else (a dict, no annotation) is known only when the entry runs."""
    name = _class_name(returns)
    if name in _PRIMITIVE_RETURNS:
        return {"output": {"type": _VALUE_TYPES[name]}}
    record = classes.get(name)
    if record is None or not _is_record(record):
        return None
    return {item.target.id: {"type": _VALUE_TYPES.get(_class_name(item.annotation), "")}
            for item in record.body if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)}


def _is_record(node: ast.ClassDef) -> bool:
    """A TypedDict subclass or a @dataclass: its annotated fields are its keys."""
    bases = {_class_name(base) for base in node.bases}
    decorators = {_class_name(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list}
    return "TypedDict" in bases or "dataclass" in decorators


def _imported_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    return names
