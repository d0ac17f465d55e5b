"""A flow's own Python files, read with `ast` (nothing is imported or run): which files the flow loads, starting
from its node sources or its entry module and following its imports of its own modules, and what they import.

Imports that cannot fail the flow are not counted: inside `if TYPE_CHECKING:`, `if __name__ == "__main__":`, or
a `try` that catches the ImportError.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# What a `try` must catch for the imports in its body to be optional.
_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


@dataclass(frozen=True)
class ImportLine:
    file: Path  # the flow file importing
    module: str  # as imported: "bs4", "azure.ai.ml"
    line: int


def external_imports(folder: Path, starts: list[Path]) -> Iterator[ImportLine]:
    """Every absolute import, in the files of `folder` the flow loads from `starts`, that is not of its own
    modules, in the order the files are read (a module of the flow is read once, where first imported)."""
    pending = list(starts)
    read: set[Path] = set()
    while pending:
        file = pending.pop(0)
        if file in read or not file.is_file():
            continue  # a source that is missing fails when the flow loads, with prompt flow's message
        read.add(file)
        for module, line, level in _imports(file):
            local = _local_files(folder, file, module, level)
            if local:
                pending += local
            elif level == 0:
                yield ImportLine(file, module, line)


def loaded_files(folder: Path, starts: list[Path]) -> list[Path]:
    """The files of `folder` the flow loads from `starts`: those and the flow's modules they import."""
    pending, read = list(starts), []
    while pending:
        file = pending.pop(0)
        if file in read or not file.is_file():
            continue
        read.append(file)
        for module, _, level in _imports(file):
            pending += _local_files(folder, file, module, level)
    return read


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
