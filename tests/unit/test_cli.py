"""CLI: exit codes and output, in process through the one CLI helper; what help imports, in a fresh process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import llmops
from tests.support.mini_use_case import edit_json, write_use_case


def test_help_lists_commands() -> None:
    done = llmops(None, "--help")  # its speed: benchmarks/cli_startup.py
    assert done.code == 0
    assert "validate" in done.out and "exit codes: 0 ok, 1 user or config error" in done.out


def test_help_does_not_import_heavy_packages() -> None:
    # A fresh interpreter: this one has imported them all by now.
    code = ("import sys; from llmops.cli.main import build_parser; build_parser(); "
            "print(sorted(m for m in ('promptflow','azure','pandas','pydantic') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_every_command_has_help_with_example() -> None:
    from llmops.cli.main import build_parser

    _, commands = build_parser()
    for name in commands:
        done = llmops(None, name, "--help")
        assert done.code == 0, name
        assert "example:" in done.out and "llmops " in done.out.split("example:")[1], name


def test_the_embedded_model_command_still_answers_to_its_old_name(tmp_path: Path) -> None:
    (tmp_path / "use_cases").mkdir()
    done = [llmops(tmp_path, name, "stop", "--model", "smollm2-135m") for name in ("embedded", "model")]
    assert [d.code for d in done] == [0, 0] and done[0].out == done[1].out == "smollm2-135m: was not running\n"


def test_validate_ok(tmp_path: Path) -> None:
    write_use_case(tmp_path)
    done = llmops(tmp_path, "validate")
    assert (done.code, done.out) == (0, "mini: ok (2 envs: pr, dev; 3 datasets)\n")


def test_validate_broken_exits_1_with_lines(tmp_path: Path) -> None:
    folder = write_use_case(tmp_path)
    edit_json(folder / "configs/data_config.json", lambda d: d["datasets"][0].__setitem__("DATA_PATH", "x.jsonl"))
    done = llmops(tmp_path, "validate", "--use-case", "mini")
    assert done.code == 1
    assert done.out.splitlines() == [
        "use_cases/mini/configs/data_config.json: datasets[0].DATA_PATH: file not found: 'x.jsonl'",
        "1 problem(s) in 1 use case(s)",
    ]


def test_unknown_use_case_exit_1_lists_valid(tmp_path: Path) -> None:
    write_use_case(tmp_path)
    done = llmops(tmp_path, "validate", "--use-case", "nope")
    assert done.code == 1
    assert done.err.startswith("error: unknown use case 'nope'; valid: mini.")
    assert "Traceback" not in done.err


def test_usage_error_exit_2() -> None:
    assert llmops(None, "validate", "--no-such-flag").code == 2
    assert llmops(None).code == 2


def test_no_use_cases_folder(tmp_path: Path) -> None:
    done = llmops(tmp_path, "validate")
    assert done.code == 1
    assert "no 'use_cases/' folder found" in done.err


@pytest.mark.parametrize(("metrics", "text"), [
    ({}, ""),
    ({"accuracy": 0.75, "note": "text is skipped"}, "; accuracy=0.750"),
    ({"f1_b": 0.5, "f1_a": 0.25, "macro_f1": 0.4, "accuracy": 1},
     "; accuracy=1.000, macro_f1=0.400, f1_a=0.250, f1_b=0.500"),
    ({f"f1_{c}": 0.5 for c in "abcdefg"} | {"macro_f1": 0.5},
     "; macro_f1=0.500, f1_a=0.500, f1_b=0.500, f1_c=0.500, f1_d=0.500 and 3 more in the report"),
    ({"evaluation_adv/f1_app": 1.0, "evaluation_adv/macro_f1": 0.9, "evaluation/accuracy": 0.8},
     "; evaluation/accuracy=0.800, evaluation_adv/macro_f1=0.900, evaluation_adv/f1_app=1.000"),
])
def test_a_runs_metrics_line_puts_summary_metrics_first_and_stays_short(metrics: dict, text: str) -> None:
    from llmops.cli.commands._render import metrics_text

    assert metrics_text(metrics) == text


def test_a_gate_line_shows_its_value_to_four_decimals(capsys: pytest.CaptureFixture[str]) -> None:
    from llmops.cli.commands._render import gate_checks
    from llmops.report.gates import GateResult

    def result(value: float) -> GateResult:
        return GateResult("accuracy", "defaults", value, 0.9, value >= 0.9, ">=", "baseline", "eval", "pr")

    gate_checks([result(14 / 15), result(1.0)])
    assert capsys.readouterr().out.splitlines() == ["gate accuracy >= 0.9 on defaults: 0.9333 -> pass",
                                                     "gate accuracy >= 0.9 on defaults: 1.0 -> pass"]


def test_a_commands_description_keeps_its_capitals(tmp_path: Path) -> None:
    done = llmops(tmp_path, "embedded", "--help")
    assert done.code == 0 and "The embedded LLM (the local model that answers when no API key is set)" in done.out
