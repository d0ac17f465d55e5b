"""Prompt flow's home: one per state directory, never written by prompt flow itself.

CI once failed 7 Azure ML tests with `found duplicate key "installation_id"` in pf.yaml: a job's
nodes, started together, each had prompt flow add its installation id with a plain
read-modify-write into one shared pf.yaml (the home inherited from the test process's environment).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmops.backends.local.engine.promptflow_env import PF_CONFIG, configure_promptflow

# What a prompt flow process does on start-up in a home configured by llmops.
ASK_FOR_THE_INSTALLATION_ID = """
from promptflow._sdk._configuration import Configuration
print(Configuration.get_instance().get_or_set_installation_id())
"""


@pytest.fixture
def restored_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PF_HOME_DIRECTORY", "PF_LOGGING_LEVEL"):
        monkeypatch.delenv(name, raising=False)  # restored after the test


def test_prompt_flow_finds_its_installation_id_and_writes_nothing(tmp_path: Path,
                                                                  restored_environment: None) -> None:
    home = configure_promptflow(tmp_path / "state")
    written = (home / "pf.yaml").stat().st_mtime_ns

    processes = [subprocess.Popen([sys.executable, "-c", ASK_FOR_THE_INSTALLATION_ID], stdout=subprocess.PIPE,
                                  text=True, env=os.environ.copy()) for _ in range(4)]
    answers = {process.communicate(timeout=120)[0].strip() for process in processes}

    assert len(answers) == 1 and all(process.returncode == 0 for process in processes)
    assert (home / "pf.yaml").read_text() == PF_CONFIG
    assert (home / "pf.yaml").stat().st_mtime_ns == written


def test_the_home_is_the_state_directorys_even_when_the_environment_names_another(
        tmp_path: Path, restored_environment: None) -> None:
    os.environ["PF_HOME_DIRECTORY"] = str(tmp_path / "inherited")

    home = configure_promptflow(tmp_path / "state")

    assert home == tmp_path / "state" / "promptflow"
    assert os.environ["PF_HOME_DIRECTORY"] == str(home)


def test_a_pf_yaml_from_an_earlier_version_is_replaced(tmp_path: Path, restored_environment: None) -> None:
    old = tmp_path / "state" / "promptflow" / "pf.yaml"
    old.parent.mkdir(parents=True)
    old.write_text("telemetry:\n  enabled: 'false'\ntrace:\n  destination: none\n")

    configure_promptflow(tmp_path / "state")

    assert old.read_text() == PF_CONFIG
