"""Step: run the use cases' own tests: each use case's `tests/` folder and the unit tests beside its flows.

The original template ships `*_test.py` files beside its flow code (`cleansing_test.py` imports
`cleansing` from its own folder) and a `tests/` folder per use case. Each group runs in its own pytest
process: a flow folder's tests with that folder first on sys.path, as the flow's own code sees it when
prompt flow loads it, so two flows with a module of the same name (NER's `cleansing.py`) never meet.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from llmops.backends.promptflow_switches import LOCAL_ONLY_ENVIRONMENT
from llmops.config.flow_dag import DAG_FILES
from llmops.config.flow_flex import FLEX_FILES
from llmops.config.flow_prompty import PROMPTY_SUFFIX
from llmops.config.workspace import USE_CASES, Workspace
from llmops.errors import LlmopsError

TEST_PATTERNS = ("test_*.py", "*_test.py")  # pytest's own default
FLOW_FILES = (*DAG_FILES, *FLEX_FILES)
_SKIPPED_FOLDERS = {"__pycache__", ".promptflow", ".pytest_cache"}
_NO_TESTS_COLLECTED = 5  # pytest's exit code


@dataclass(frozen=True)
class TestGroup:
    """Tests run by one pytest process."""

    __test__ = False  # not a pytest test class, whatever its name

    name: str  # the folder, relative to the repository: use_cases/x/tests, use_cases/x/flows/standard
    folder: Path  # the working directory, put first on sys.path
    paths: tuple[Path, ...]  # what pytest is given: the tests folder, the flow folder, or loose test files


@dataclass(frozen=True)
class GroupResult:
    group: TestGroup
    exit_code: int  # pytest's
    output: str  # pytest's stdout and stderr

    @property
    def passed(self) -> bool:
        return self.exit_code in (0, _NO_TESTS_COLLECTED)

    @property
    def summary(self) -> str:
        """pytest's last line, e.g. "3 passed in 0.12s"."""
        lines = [line.strip(" =") for line in self.output.splitlines() if line.strip(" =")]
        return lines[-1] if lines else f"pytest exited with {self.exit_code}"


@dataclass(frozen=True)
class FlowTestsResult:
    groups: list[GroupResult]

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.groups)


def find_test_groups(workspace: Workspace, use_case: str | None = None) -> list[TestGroup]:
    """use_cases/*/tests, then every flow folder holding test files, use case by use case."""
    names = [workspace.use_case_dir(use_case).name] if use_case else workspace.use_case_names()
    groups = []
    for name in names:
        folder = workspace.root / USE_CASES / name
        tests = folder / "tests"
        if tests.is_dir() and _test_files(tests, recursive=True):
            groups.append(TestGroup(workspace.shown(tests), tests, (tests,)))
        by_flow: dict[Path, list[Path]] = {}
        for file in _test_files(folder / "flows", recursive=True):
            by_flow.setdefault(_flow_folder(file, folder / "flows"), []).append(file)
        # A flow folder is given whole, so that --ignore and the like apply; loose files one by one.
        groups += [TestGroup(workspace.shown(flow), flow, (flow,) if _is_flow(flow) else tuple(files))
                   for flow, files in sorted(by_flow.items())]
    return groups


def run_flow_tests(groups: list[TestGroup], pytest_args: list[str] | None = None) -> FlowTestsResult:
    """Each group in its own pytest process; `pytest_args` are given to each (-k, --deselect ...)."""
    if groups and importlib.util.find_spec("pytest") is None:
        raise LlmopsError("the flow tests need pytest, which is not installed; install it: pip install pytest")
    return FlowTestsResult([_run(group, pytest_args or []) for group in groups])


def _flow_folder(test_file: Path, flows: Path) -> Path:
    """The flow a test file belongs to: the nearest folder above it holding a flow definition, else its own."""
    for folder in test_file.parents:
        if folder == flows or not folder.is_relative_to(flows):
            break
        if _is_flow(folder):
            return folder
    return test_file.parent


def _is_flow(folder: Path) -> bool:
    return any((folder / name).is_file() for name in FLOW_FILES) or any(folder.glob(f"*{PROMPTY_SUFFIX}"))


def _test_files(folder: Path, recursive: bool) -> list[Path]:
    if not folder.is_dir():
        return []
    found = {path for pattern in TEST_PATTERNS
             for path in (folder.rglob(pattern) if recursive else folder.glob(pattern))}
    return sorted(p for p in found if p.is_file() and not _SKIPPED_FOLDERS & set(p.relative_to(folder).parts))


def _run(group: TestGroup, pytest_args: list[str]) -> GroupResult:
    # Flow code imports prompt flow, which stays local here as in a run (the user's own settings win).
    environment = {**LOCAL_ONLY_ENVIRONMENT, **os.environ,
                   "PYTHONDONTWRITEBYTECODE": "1",  # no __pycache__ left in the use case folder
                   "PYTHONPATH": os.pathsep.join([str(group.folder), *filter(None, [os.environ.get("PYTHONPATH")])])}
    # No cache folder in the use case either; the repository's pytest settings apply, if it has some. A file
    # that cannot be collected (an import missing here) does not keep the others from running: all at once.
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--continue-on-collection-errors",
               "-o", f"python_files={' '.join(TEST_PATTERNS)}", *pytest_args, *map(str, group.paths)]
    done = subprocess.run(command, cwd=group.folder, env=environment, capture_output=True, text=True)
    return GroupResult(group, done.returncode, done.stdout + done.stderr)
