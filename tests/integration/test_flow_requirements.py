"""A flow importing a package that is not installed stops every command that would run it before any line runs,
with one message: the module, the flow file importing it, the flow's requirements.txt and whether it lists the
package, and the command that installs it. `validate` warns about it, and about requirements that are not
installed, without failing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cli import llmops
from tests.support.mini_use_case import write_use_case

FLOWS = "use_cases/mini/flows"


def import_at_module_level(folder: Path) -> None:
    _prepend(folder / "flows/standard/classify.py", "import llmops_absent_pkg\n")


def import_inside_the_tool(folder: Path) -> None:
    classify = folder / "flows/standard/classify.py"
    classify.write_text(classify.read_text().replace("    word =", "    import llmops_absent_pkg.sub\n    word ="))


def import_in_the_evaluation_flow(folder: Path) -> None:
    _prepend(folder / "flows/eval/grade.py", "import os\nfrom llmops_absent_pkg import grader\n")


def _prepend(path: Path, text: str) -> None:
    path.write_text(text + path.read_text())


@dataclass(frozen=True)
class Case:
    change: Callable[[Path], None]
    requirements: str | None  # the flow's requirements.txt; None: it has none
    message: str


CASES = {
    "listed": Case(import_at_module_level, "promptflow\nllmops-absent-pkg>=1.0\n",
                   f"module 'llmops_absent_pkg' is not installed: {FLOWS}/standard/classify.py imports it (line 1); "
                   f"{FLOWS}/standard/requirements.txt lists it; install the flow's requirements: pip install -r "
                   f"{FLOWS}/standard/requirements.txt"),
    "not listed": Case(import_inside_the_tool, "promptflow\n",
                       f"module 'llmops_absent_pkg' is not installed: {FLOWS}/standard/classify.py imports it "
                       f"(line 6); {FLOWS}/standard/requirements.txt does not list it; install it: pip install "
                       f"llmops_absent_pkg, and add it to {FLOWS}/standard/requirements.txt"),
    "no requirements": Case(import_at_module_level, None,
                            f"module 'llmops_absent_pkg' is not installed: {FLOWS}/standard/classify.py imports it "
                            "(line 1); the flow has no requirements.txt; install it: pip install llmops_absent_pkg, "
                            f"and list it in {FLOWS}/standard/requirements.txt"),
}


def write_mini(root: Path, case: Case) -> None:
    folder = write_use_case(root)
    case.change(folder)
    if case.requirements is not None:
        (folder / "flows/standard/requirements.txt").write_text(case.requirements)


@pytest.mark.parametrize("name", CASES)
def test_run_stops_before_any_line_naming_module_file_requirements_and_the_install(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    write_mini(tmp_path, case)
    done = llmops(tmp_path, "run", "-u", "mini", "-e", "pr")
    assert (done.code, done.out, done.err) == (1, "", f"error: {case.message}\n")
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("command", [("experiment",), ("flow-test",), ("record", "--provider", "embedded")])
def test_every_command_that_runs_the_flow_stops_the_same_way(tmp_path: Path, command: tuple[str, ...]) -> None:
    write_mini(tmp_path, CASES["listed"])
    assert llmops(tmp_path, "register-data", "-u", "mini", "-e", "pr").code == 0
    done = llmops(tmp_path, *command, "-u", "mini", "-e", "pr")
    assert (done.code, done.err.splitlines()[-1]) == (1, f"error: {CASES['listed'].message}")
    assert "unexpected" not in done.err and "Traceback" not in done.err


def test_an_evaluation_flow_missing_a_module_stops_the_pipeline_before_the_experiment(tmp_path: Path) -> None:
    import_in_the_evaluation_flow(write_use_case(tmp_path))
    done = llmops(tmp_path, "run", "-u", "mini", "-e", "pr")
    assert (done.code, done.out, done.err) == (1, "", (
        f"error: module 'llmops_absent_pkg' is not installed: {FLOWS}/eval/grade.py imports it (line 2); the flow "
        f"has no requirements.txt; install it: pip install llmops_absent_pkg, and list it in "
        f"{FLOWS}/eval/requirements.txt\n"))


def test_validate_warns_about_missing_modules_and_requirements_without_failing(tmp_path: Path) -> None:
    write_mini(tmp_path, CASES["listed"])
    (tmp_path / "use_cases/mini/flows/eval/requirements.txt").write_text("promptflow\nllmops-only-listed\n")
    done = llmops(tmp_path, "validate")
    assert (done.code, done.out.splitlines()) == (0, [
        f"warning: {FLOWS}/standard: {CASES['listed'].message}",
        f"warning: {FLOWS}/eval/requirements.txt: line 2: 'llmops-only-listed' is not installed; no file of flow "
        "'eval' imports it, so its runs do not need it",
        "mini: ok (2 envs: pr, dev; 3 datasets)",
    ])
