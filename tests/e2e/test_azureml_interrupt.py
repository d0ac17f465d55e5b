"""Ctrl-C while a step's Azure ML job runs leaves the job running and says how to reattach; the same command
reattaches instead of submitting again; --cancel cancels. The real CLI in a subprocess against the emulator;
the flows' lines wait at a gate (a file) the test removes, so the job is surely running when it is interrupted."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support.azureml_emulator import AzureMLEmulator
from tests.support.azureml_emulator.product import ENV, clean_environment, llmops_environment, use_environment
from tests.support.azureml_steps import azure_mini_use_case
from tests.support.ctrl_c import takes_ctrl_c
from tests.support.repo_copy import REPO

pytest_plugins = ["tests.support.azureml_emulator.fixtures"]
pytestmark = pytest.mark.timeout(900)

GATE = """
import os, pathlib, time


def wait_at_gate():
    gate = os.environ.get("LLMOPS_TEST_GATE")
    while gate and pathlib.Path(gate).exists():
        time.sleep(0.1)
"""


class Command:
    """`llmops ...` running in the background, its stderr read line by line as it comes.

    A process, since the test interrupts it with SIGINT as Ctrl-C does."""

    def __init__(self, root: Path, emulator: AzureMLEmulator, *args: str) -> None:
        environment = {**clean_environment(), **llmops_environment(emulator), "PYTHONPATH": str(REPO)}
        self.process = subprocess.Popen([sys.executable, "-m", "llmops", "--root", str(root), *args],
                                        env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        preexec_fn=takes_ctrl_c)
        self.stderr: list[str] = []
        self._reader = threading.Thread(target=lambda: self.stderr.extend(iter(self.process.stderr.readline, "")))
        self._reader.start()

    def wait_for(self, text: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.stderr):
            assert self.process.poll() is None, "".join(self.stderr)[-3000:]
            assert time.monotonic() < deadline, f"no '{text}' in: {''.join(self.stderr)[-3000:]}"
            time.sleep(0.2)

    def finish(self) -> tuple[int, str, str]:
        out = self.process.stdout.read()
        code = self.process.wait(timeout=600)
        self._reader.join()
        return code, out, "".join(self.stderr)


def job_status(emulator: AzureMLEmulator, name: str) -> str:
    return str(emulator.store.get("jobs", name).properties["status"])


def submitted(emulator: AzureMLEmulator) -> list[str]:
    return [r.path.rsplit("/", 1)[-1] for r in emulator.requests
            if r.method == "PUT" and "/jobs/" in r.path and r.status == 201]


def interrupt_while_running(command: Command) -> tuple[int, str]:
    command.wait_for(": Running")
    command.process.send_signal(signal.SIGINT)
    code, _, stderr = command.finish()
    return code, stderr


def test_ctrl_c_leaves_the_job_running_the_command_reattaches_and_cancel_cancels(azureml_emulator, monkeypatch,
                                                                               tmp_path):
    gate = tmp_path / "gate"
    gate.touch()
    use_environment(monkeypatch, azureml_emulator, LLMOPS_TEST_GATE=str(gate))  # the emulator's nodes inherit it
    root = tmp_path / "repo"
    folder = azure_mini_use_case(root, azureml_emulator)
    for script, first_line in (("flows/standard/classify.py", "    word ="), ("flows/eval/grade.py", "    return 1.0")):
        text = (folder / script).read_text()
        (folder / script).write_text(GATE + text.replace(first_line, "    wait_at_gate()\n" + first_line, 1))
    experiment = ["experiment", "-u", "mini", "-e", ENV, "--provider", "replay"]
    evaluate = ["evaluate", "-u", "mini", "-e", ENV, "--provider", "replay"]
    assert subprocess.run([sys.executable, "-m", "llmops", "--root", str(root), "register-data", "-u", "mini", "-e",
                           ENV], env={**clean_environment(), **llmops_environment(azureml_emulator),
                                      "PYTHONPATH": str(REPO)}, capture_output=True).returncode == 0

    code, stderr = interrupt_while_running(Command(root, azureml_emulator, *experiment))
    [job] = submitted(azureml_emulator)
    assert code == 130, stderr[-3000:]
    assert stderr.rstrip().endswith(f"interrupted: job {job} keeps running in Azure ML; run the same command again "
                                    "to reattach, or add --cancel to cancel it")
    assert job_status(azureml_emulator, job) == "Running"

    again = Command(root, azureml_emulator, *experiment)
    again.wait_for(f"reattaching to job {job} (Running)")
    gate.unlink()
    code, stdout, stderr = again.finish()
    assert code == 0, stderr[-3000:]
    assert submitted(azureml_emulator) == [job]  # reattached, not submitted twice
    assert stdout.count("12 lines, 0 failed (ran 12 lines)") == 2

    gate.touch()
    code, stderr = interrupt_while_running(Command(root, azureml_emulator, *evaluate))
    evaluation = submitted(azureml_emulator)[-1]
    assert code == 130 and f"interrupted: job {evaluation} keeps running" in stderr
    canceled = subprocess.run([sys.executable, "-m", "llmops", "--root", str(root), *evaluate, "--cancel"],
                              env={**clean_environment(), **llmops_environment(azureml_emulator),
                                   "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300)
    assert canceled.returncode == 0, canceled.stderr[-3000:]
    assert canceled.stderr.rstrip().endswith(f"canceled Azure ML job {evaluation}; its lines run again the next time "
                                             "the command runs without --cancel")
    gate.unlink()  # the lines in flight end; the job ends canceled
    assert azureml_emulator.jobs.wait(evaluation) == "Canceled"

    done = Command(root, azureml_emulator, *evaluate)
    code, stdout, stderr = done.finish()
    assert code == 0, stderr[-3000:]
    assert submitted(azureml_emulator) == [job, evaluation, evaluation.removesuffix("-1") + "-2"]
    assert stdout.count("accuracy=0.750") == 2
