"""The package's layering (../shared/DESIGN.md), as import-linter contracts in pyproject.toml: the package keeps
them, and a planted import across a layer breaks the contract that names it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports over the `llmops` package found in `root`, with the contracts of `root/pyproject.toml`."""
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "200"}
    script = Path(sys.executable).parent / "lint-imports"
    return subprocess.run([str(script), "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_package_keeps_its_contracts() -> None:
    done = lint_imports(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(("module", "source", "broken"), [
    ("config/planted.py", "from llmops.llm import connections\n",
     "llmops.config.planted -> llmops.llm.connections"),
    ("report/planted.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                          "    from llmops.backends.local.registry import runs\n",
     "llmops.report.planted -> llmops.backends.local.registry.runs"),
    ("backends/local/registry/planted.py", "def later():\n    from llmops.backends.local.engine import snapshot\n",
     "llmops.backends.local.registry.planted -> llmops.backends.local.engine.snapshot"),
    ("steps/planted.py", "from llmops.steps import register_data\n",
     "llmops.steps.planted -> llmops.steps.register_data"),
])
def test_an_import_across_a_layer_breaks_a_contract(tmp_path: Path, module: str, source: str, broken: str) -> None:
    shutil.copytree(REPO / "llmops", tmp_path / "llmops", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    (tmp_path / "llmops" / module).write_text(source, encoding="utf-8")
    done = lint_imports(tmp_path)
    assert done.returncode == 1, done.stdout
    assert broken in done.stdout and "1 broken" in done.stdout, done.stdout
