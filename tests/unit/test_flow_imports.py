"""The imports a flow's code makes, read with ast from the files the flow runs; its requirements.txt read by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops.config.flow import load_flow
from llmops.config.flow_imports import flow_imports
from llmops.config.flow_requirements import distribution_of, provides, read_requirements

DAG = """\
inputs: {x: {type: string}}
outputs: {y: {type: string, reference: "${node.output}"}}
nodes:
- name: node
  type: python
  source: {type: code, path: node.py}
  inputs: {x: "${inputs.x}"}
"""
TOOL_PACKAGE_NODE = """\
- name: search
  type: python
  source: {type: package, tool: llmops_absent_tools.search.run}
  inputs: {x: "${inputs.x}"}
"""

CASES: list[tuple[str, dict[str, str], list[tuple[str, str, int]]]] = [
    # (name, files beside flow.dag.yaml, (module, file, line) found)
    ("module level", {"node.py": "import llmops_absent\n"}, [("llmops_absent", "node.py", 1)]),
    ("from import, dotted", {"node.py": "import os\nfrom llmops_absent.sub import x\n"},
     [("llmops_absent.sub", "node.py", 2)]),
    ("standard library only", {"node.py": "import os, json\nfrom collections import abc\nimport __future__\n"}, []),
    ("inside the tool function", {"node.py": "def tool(x):\n    import llmops_absent\n    return x\n"},
     [("llmops_absent", "node.py", 2)]),
    ("the flow's own module, read in turn",
     {"node.py": "from helper import f\n", "helper.py": "\nimport llmops_absent\n"},
     [("llmops_absent", "helper.py", 2)]),
    ("a relative import of its own module",
     {"node.py": "from . import helper\n", "helper.py": "import llmops_absent\n"},
     [("llmops_absent", "helper.py", 1)]),
    ("its own package", {"node.py": "import pkg.mod\n", "pkg/__init__.py": "import llmops_absent\n",
                         "pkg/mod.py": ""}, [("llmops_absent", "__init__.py", 1)]),
    ("for type checkers only",
     {"node.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import llmops_absent\n"}, []),
    ("optional: the ImportError is caught",
     {"node.py": "try:\n    import llmops_absent\nexcept ImportError:\n    llmops_absent = None\n"}, []),
    ("the fallback of an optional import is not optional",
     {"node.py": "try:\n    import llmops_absent\nexcept (ImportError, OSError):\n    import llmops_absent_too\n"},
     [("llmops_absent_too", "node.py", 4)]),
    ("a script's own imports", {"node.py": "if __name__ == '__main__':\n    import llmops_absent\n"}, []),
    ("a test beside the flow is not flow code", {"node.py": "", "node_test.py": "import llmops_absent\n"}, []),
    ("made at run time: invisible", {"node.py": "import importlib\nimportlib.import_module('llmops_absent')\n"}, []),
    ("a file that is not Python", {"node.py": "def (:\n"}, []),
    ("a tool package the dag names", {"node.py": "", "flow.dag.yaml": DAG + TOOL_PACKAGE_NODE},
     [("llmops_absent_tools", "flow.dag.yaml", 0)]),
]


@pytest.mark.parametrize(("name", "files", "expected"), CASES, ids=[c[0] for c in CASES])
def test_the_imports_a_flow_can_fail_on(tmp_path: Path, name: str, files: dict[str, str],
                                        expected: list[tuple[str, str, int]]) -> None:
    for relative, text in {"flow.dag.yaml": DAG, **files}.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    flow = load_flow(tmp_path, None, [], ("llmops_config.json", "x"))
    assert flow is not None
    assert [(s.module, s.file.name, s.line) for s in flow_imports(flow)] == expected


def test_requirements_are_read_by_distribution_name(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("\n# comment\npromptflow[azure]>=1.7.0\n-r other.txt\nbs4  # soup\n"
                    "git+https://example.com/x.git\npromptflow-sdk[builtins]")  # no newline at the end
    assert [(r.name, r.text, r.line) for r in read_requirements(path)] == [
        ("promptflow", "promptflow[azure]>=1.7.0", 3), ("bs4", "bs4", 5),
        ("promptflow-sdk", "promptflow-sdk[builtins]", 7)]


@pytest.mark.parametrize(("module", "distribution"), [
    ("bs4", "beautifulsoup4"), ("yaml", "pyyaml"), ("azure.ai.ml", "azure-ai-ml"), ("numpy", "numpy")])
def test_the_distribution_to_install_for_a_module(tmp_path: Path, module: str, distribution: str) -> None:
    assert distribution_of(module) == distribution
    path = tmp_path / "requirements.txt"
    path.write_text(f"{distribution.upper()}\n")
    assert provides(read_requirements(path)[0], module)
