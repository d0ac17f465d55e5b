"""The Python API that `llmops/__init__.py` exports: every name resolves, and `import llmops` stays cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest

import llmops
from tests.support.repo_copy import REPO


@pytest.mark.parametrize("name", sorted(llmops.__all__))
def test_every_exported_name_resolves(name: str) -> None:
    assert getattr(llmops, name) is not None


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'llmops' has no attribute 'experimnt'"):
        _ = llmops.experimnt  # type: ignore[attr-defined]  # the misspelling is the point


def test_importing_the_package_loads_no_heavy_dependency() -> None:
    heavy = ("pydantic", "promptflow", "yaml", "pandas")
    code = f"import sys, llmops; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
