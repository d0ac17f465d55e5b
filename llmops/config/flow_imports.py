"""The modules a flow's code imports, read from its Python files with `ast` (nothing is imported or run).

The files read are those the flow runs: the `.py` sources of its nodes and variants, and the flow's own
modules they import, followed from file to file. Test files and scripts beside them are not read, since the
flow never loads them. Not counted: the standard library, the flow's own modules, imports that cannot
fail the flow (inside `if TYPE_CHECKING:`, `if __name__ == "__main__":`, or a `try` that catches the
ImportError). Imports made at run time (`importlib.import_module(name)`) are invisible here; a line that
fails on one is still grouped by cause with its fix (llmops/report/failures.py).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.config.flow_dag import FlowDag

# What a `try` must catch for the imports in its body to be optional.
_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


@dataclass(frozen=True)
class ImportSite:
    module: str  # as imported: "bs4", "azure.ai.ml"
    file: Path  # the flow file that imports it (flow.dag.yaml for a node's tool package)
    line: int  # 0 when the import is in flow.dag.yaml

    @property
    def top_level(self) -> str:
        return self.module.split(".")[0]


def flow_imports(flow: FlowDag) -> list[ImportSite]:
    """Every import of another package by the flow's code, in the order the files are read."""
    found: list[ImportSite] = list(_tool_packages(flow))
    pending = [flow.folder / path for path in _node_sources(flow)]
    read: set[Path] = set()
    while pending:
        file = pending.pop(0)
        if file in read or not file.is_file():
            continue  # a node source that is missing fails when the flow loads, with prompt flow's message
        read.add(file)
        for module, line, level in _imports(file):
            local = _local_files(flow.folder, file, module, level)
            if local:
                pending += local
            elif level == 0 and module.split(".")[0] not in sys.stdlib_module_names and not _is_local(flow, module):
                found.append(ImportSite(module, file, line))
    return found


def _nodes(flow: FlowDag) -> list[dict[str, Any]]:
    """The dag's nodes and every variant's node."""
    variants = [variant for spec in flow.node_variants.values()
                for variant in ((spec or {}).get("variants") or {}).values()]
    return [*flow.nodes, *((variant or {}).get("node") or {} for variant in variants)]


def _node_sources(flow: FlowDag) -> Iterator[str]:
    for node in _nodes(flow):
        source = node.get("source") or {}
        path = str(source.get("path") or "")
        if source.get("type", "code") == "code" and path.endswith(".py"):
            yield path


def _tool_packages(flow: FlowDag) -> Iterator[ImportSite]:
    """Packages the dag names for its tools: `source: {type: package, tool: pkg.tools.x}` and `module: pkg.x`."""
    for node in _nodes(flow):
        source = node.get("source") or {}
        for name in (source.get("tool") if source.get("type") == "package" else None, node.get("module")):
            if isinstance(name, str) and name.strip():
                yield ImportSite(name.strip().split(".")[0], flow.file, 0)


def _imports(file: Path) -> Iterator[tuple[str, int, int]]:
    """(module, line, relative level) of each import in `file` that the flow may fail on."""
    try:
        tree = ast.parse(file.read_bytes(), filename=str(file))
    except (SyntaxError, ValueError):
        return  # prompt flow reports a file it cannot load, naming it
    yield from _walk(tree.body)


def _walk(statements: list[ast.stmt]) -> Iterator[tuple[str, int, int]]:
    for statement in statements:
        if isinstance(statement, ast.Import):
            yield from ((alias.name, statement.lineno, 0) for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom):
            if statement.module == "__future__":
                continue
            if statement.module:
                yield statement.module, statement.lineno, statement.level
            else:  # from . import a, b: each is a module of the package
                yield from ((alias.name, statement.lineno, statement.level) for alias in statement.names)
        elif isinstance(statement, ast.If) and _never_fails_the_flow(statement.test):
            yield from _walk(statement.orelse)
        elif isinstance(statement, ast.Try) and _catches_import_error(statement):
            # The body's imports are optional; a fallback import in the handler is not.
            yield from _walk([*(s for h in statement.handlers for s in h.body), *statement.orelse,
                              *statement.finalbody])
        else:
            yield from _walk(_nested(statement))


def _nested(statement: ast.stmt) -> list[ast.stmt]:
    """The statements inside a compound one: function and class bodies, branches, loops, with, try, match."""
    nested: list[ast.stmt] = []
    for field in ("body", "orelse", "finalbody"):
        nested += [s for s in getattr(statement, field, None) or [] if isinstance(s, ast.stmt)]
    for block in (*(getattr(statement, "handlers", None) or []), *(getattr(statement, "cases", None) or [])):
        nested += block.body
    return nested


def _never_fails_the_flow(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:` (imports for type checkers only) and `if __name__ == "__main__":` (a script's)."""
    if isinstance(test, ast.Name | ast.Attribute):
        return (test.id if isinstance(test, ast.Name) else test.attr) == "TYPE_CHECKING"
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators))


def _catches_import_error(statement: ast.Try) -> bool:
    for handler in statement.handlers:
        if handler.type is None:
            return True
        names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if any(isinstance(n, ast.Name) and n.id in _IMPORT_ERRORS for n in names):
            return True
    return False


def _local_files(folder: Path, importer: Path, module: str, level: int) -> list[Path]:
    """The flow's own files an import runs, to read their imports too: for `a.b`, a/__init__.py and a/b.py
    (or a/b/__init__.py). Empty when the module is not the flow's."""
    base = importer.parent
    for _ in range(max(level - 1, 0)):
        base = base.parent
    target = base if level else folder
    found = []
    for part in module.split("."):
        target = target / part
        for candidate in (target / "__init__.py", target.with_suffix(".py")):
            if candidate.is_file() and candidate.resolve().is_relative_to(folder.resolve()):
                found.append(candidate)
                break
    return found


def _is_local(flow: FlowDag, module: str) -> bool:
    """A module of the flow folder: a file, a package, or a folder without __init__ (a namespace package)."""
    top = flow.folder / module.split(".")[0]
    return top.with_suffix(".py").is_file() or top.is_dir()
