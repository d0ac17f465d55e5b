"""CLI: exit codes and output, in a subprocess as a user runs it, and in process for speed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from llmops.cli.main import main
from tests.support.mini_use_case import edit_json, write_use_case


def test_help_lists_commands() -> None:
    # In its own process as a user runs it: `python -m llmops` exits with main()'s code. Its speed is measured
    # by benchmarks/cli_startup.py; what it imports is checked below.
    done = subprocess.run([sys.executable, "-m", "llmops", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    assert "validate" in done.stdout and "exit codes: 0 ok, 1 user or config error" in done.stdout


def test_help_does_not_import_heavy_packages() -> None:
    code = ("import sys; from llmops.cli.main import build_parser; build_parser(); "
            "print(sorted(m for m in ('promptflow','azure','pandas','pydantic') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_every_command_has_help_with_example() -> None:
    from llmops.cli.main import build_parser

    _, commands = build_parser()
    for name in commands:
        done = subprocess.run([sys.executable, "-m", "llmops", name, "--help"], capture_output=True, text=True)
        assert done.returncode == 0, name
        assert "example:" in done.stdout and "llmops " in done.stdout.split("example:")[1], name


def test_validate_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_use_case(tmp_path)
    assert main(["--root", str(tmp_path), "validate"]) == 0
    assert capsys.readouterr().out == "mini: ok (2 envs: pr, dev; 3 datasets)\n"


def test_validate_broken_exits_1_with_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_use_case(tmp_path)
    edit_json(folder / "configs/data_config.json", lambda d: d["datasets"][0].__setitem__("DATA_PATH", "x.jsonl"))
    assert main(["--root", str(tmp_path), "validate", "--use-case", "mini"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "use_cases/mini/configs/data_config.json: datasets[0].DATA_PATH: file not found: 'x.jsonl'",
        "1 problem(s) in 1 use case(s)",
    ]


def test_unknown_use_case_exit_1_lists_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_use_case(tmp_path)
    assert main(["--root", str(tmp_path), "validate", "--use-case", "nope"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unknown use case 'nope'; valid: mini.")
    assert "Traceback" not in err


def test_usage_error_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--no-such-flag"]) == 2
    assert main([]) == 2


def test_no_use_cases_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(tmp_path), "validate"]) == 1
    assert "no 'use_cases/' folder found" in capsys.readouterr().err


@pytest.mark.parametrize(("metrics", "text"), [
    ({}, ""),
    ({"accuracy": 0.75, "note": "text is skipped"}, "; accuracy=0.750"),
    ({"f1_b": 0.5, "f1_a": 0.25, "macro_f1": 0.4, "accuracy": 1},
     "; accuracy=1.000, macro_f1=0.400, f1_a=0.250, f1_b=0.500"),
    ({f"f1_{c}": 0.5 for c in "abcdefg"} | {"macro_f1": 0.5},
     "; macro_f1=0.500, f1_a=0.500, f1_b=0.500, f1_c=0.500, f1_d=0.500 and 3 more in the report"),
])
def test_a_runs_metrics_line_puts_summary_metrics_first_and_stays_short(metrics: dict, text: str) -> None:
    from llmops.cli.commands._render import _metrics_text

    assert _metrics_text(metrics) == text
