"""The modules a flow's code imports, read from its Python files with `ast` (nothing is imported or run).

The files read are those the flow runs: the `.py` sources of its nodes and variants (or a flex flow's entry
module), and the flow's own modules they import, followed from file to file (flow_code.py). Test files and
scripts beside them are not read, since the flow never loads them. Not counted: the standard library, the
flow's own modules, imports that cannot fail the flow (inside `if TYPE_CHECKING:`, `if __name__ ==
"__main__":`, or a `try` that catches the ImportError). Imports made at run time
(`importlib.import_module(name)`) are invisible here; a line that fails on one is still grouped by cause with
its fix (llmops/report/failures.py).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from llmops.config.flow_base import Flow
from llmops.config.flow_code import external_imports


@dataclass(frozen=True)
class ImportSite:
    module: str  # as imported: "bs4", "azure.ai.ml"
    file: Path  # the flow file that imports it (flow.dag.yaml for a node's tool package)
    line: int  # 0 when the import is in flow.dag.yaml

    @property
    def top_level(self) -> str:
        return self.module.split(".")[0]


def flow_imports(flow: Flow) -> list[ImportSite]:
    """Every import of another package by the flow's code, in the order the files are read."""
    found = [ImportSite(package, flow.file, 0) for package in flow.tool_packages()]
    for site in external_imports(flow.folder, [flow.folder / path for path in flow.code_files()]):
        if site.module.split(".")[0] not in sys.stdlib_module_names and not _is_local(flow, site.module):
            found.append(ImportSite(site.module, site.file, site.line))
    return found


def _is_local(flow: Flow, module: str) -> bool:
    """A module of the flow folder: a file, a package, or a folder without __init__ (a namespace package)."""
    top = flow.folder / module.split(".")[0]
    return top.with_suffix(".py").is_file() or top.is_dir()
