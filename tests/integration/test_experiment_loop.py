"""The local experiment loop end to end on a small python-only use case: real prompt flow runs, real
SQLite registry, real report files; reuse, resume, failed-line threshold and gates."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import llmops
from tests.support.ctrl_c import takes_ctrl_c
from tests.support.mini_use_case import edit_json, write_use_case

pytestmark = pytest.mark.timeout(300)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    write_use_case(tmp_path)
    return tmp_path


def test_run_writes_every_report_file(repo: Path) -> None:
    done = llmops(repo, "run", "-u", "mini", "-e", "pr")
    assert done.code == 0, done.err
    out = done.out
    assert "data mini_pr: version 1 (new)" in out
    latest = repo / "reports/mini/pr/latest"
    with (latest / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 * 4  # 2 variants x 4 lines
    assert {r["variant.classify"] for r in rows} == {"variant_0", "variant_1"}
    assert len({r["run_id"] for r in rows}) == 2  # every row carries its own run's id
    with (latest / "metrics.csv").open() as handle:
        metrics = list(csv.DictReader(handle))
    assert [float(m["accuracy"]) for m in metrics] == [0.75, 0.75]
    summary = json.loads((latest / "summary.json").read_text())
    assert summary and (latest / "report.html").is_file()
    assert (latest / "summary.md").read_text().startswith("<!-- llmops-report:mini:pr -->")


def test_second_run_starts_no_prompt_flow_run(repo: Path) -> None:
    first = llmops(repo, "-v", "run", "-u", "mini", "-e", "pr")
    assert first.code == 0 and "creating a prompt flow executor" in first.err
    again = llmops(repo, "-v", "run", "-u", "mini", "-e", "pr")
    assert again.code == 0, again.err
    assert "creating a prompt flow executor" not in again.err
    assert "data mini_pr: version 1 (unchanged)" in again.out
    assert again.out.count("(reused)") == 4  # 2 experiment runs + 2 evaluation runs


def test_changed_data_makes_new_version_and_runs(repo: Path) -> None:
    assert llmops(repo, "run", "-u", "mini", "-e", "pr").code == 0
    with (repo / "use_cases/mini/data/pr.jsonl").open("a") as handle:
        handle.write(json.dumps({"url": "https://apps.example.com/new", "answer": "App"}) + "\n")
    done = llmops(repo, "run", "-u", "mini", "-e", "pr")
    assert done.code == 0, done.err
    out = done.out
    assert "data mini_pr: version 2 (new)" in out
    assert "(ran 5 lines)" in out and "(reused)" not in out


def test_gate_failure_exits_3(repo: Path) -> None:
    edit_json(repo / "use_cases/mini/llmops_config.json",
              lambda d: d["envs"][0].__setitem__("GATES", {"accuracy": ">= 0.9"}))
    captured = llmops(repo, "run", "-u", "mini", "-e", "pr")
    assert captured.code == 3
    assert "gate accuracy >= 0.9 on defaults: 0.75 -> FAIL" in captured.out
    assert "accuracy of variant 'defaults'" in captured.err and "0.75, needs >= 0.9" in captured.err
    assert (repo / "reports/mini/pr/latest/report.html").is_file()  # written even when a gate fails


def test_failed_lines_over_threshold_fail_the_step(repo: Path) -> None:
    classify = repo / "use_cases/mini/flows/standard/classify.py"
    broken = '    if url.endswith("/b"):\n        raise ValueError("page b is broken")\n    word = "App"'
    classify.write_text(classify.read_text().replace('    word = "App"', broken))
    captured = llmops(repo, "run", "-u", "mini", "-e", "pr")
    assert captured.code == 1
    assert "4 lines, 1 failed" in captured.out  # the other lines went on
    assert "runs over the failed-line threshold 20%" in captured.err and "1 of 4 lines failed" in captured.err
    with (repo / "reports/mini/pr/latest/results.csv").open() as handle:
        errors = [r["error"] for r in csv.DictReader(handle) if r["error"]]
    assert len(errors) == 2 and all("page b is broken" in e for e in errors)


def test_interrupted_experiment_resumes(repo: Path) -> None:
    rows = [{"url": f"https://apps.example.com/{i}", "answer": "App"} for i in range(30)]
    (repo / "use_cases/mini/data/pr.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    classify = repo / "use_cases/mini/flows/standard/classify.py"
    slow = '    import time\n    time.sleep(0.2)\n    word = "App"'
    classify.write_text(classify.read_text().replace('    word = "App"', slow))
    edit_json(repo / "use_cases/mini/llmops_config.json", lambda d: d["envs"][0].__setitem__("CONCURRENCY", 1))
    # Subprocesses: the test is about Ctrl-C, a SIGINT to the process running the experiment.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    cmd = [sys.executable, "-m", "llmops", "--root", str(repo)]
    subprocess.run([*cmd, "register-data", "-u", "mini", "-e", "pr"], check=True, env=env, capture_output=True)
    proc = subprocess.Popen([*cmd, "experiment", "-u", "mini", "-e", "pr", "--variants", "defaults"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=takes_ctrl_c)
    registry = repo / ".llmops/registry.sqlite"
    deadline = time.monotonic() + 120
    import sqlite3

    done = 0
    while time.monotonic() < deadline and done < 5:
        time.sleep(0.2)
        if registry.exists():
            with sqlite3.connect(registry) as conn:
                try:
                    done = conn.execute("SELECT COUNT(*) FROM run_lines").fetchone()[0]
                except sqlite3.OperationalError:
                    done = 0
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted; finished work is kept" in err
    again = subprocess.run([*cmd, "experiment", "-u", "mini", "-e", "pr", "--variants", "defaults"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "resuming run" in again.stderr
    ran = int(again.stdout.split("(ran ")[1].split(" lines")[0])
    assert 0 < ran <= 30 - 5 and "30 lines, 0 failed" in again.stdout
