"""`llmops test-flows` runs each use case's tests/ folder and the unit tests beside its flows, each flow's in its own
pytest with its folder on sys.path, so a flow-local test imports the flow's module as the flow does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llmops.backends.promptflow_switches import LOCAL_ONLY_ENVIRONMENT
from tests.support.cli import Done, llmops
from tests.support.mini_use_case import write_use_case
from tests.support.original_shapes import write_original_shapes

NER = "use_cases/named_entity_recognition"
# The evaluation flow's own cleansing.py, unlike the standard flow's, keeps case: each flow's test must get its own.
LOWER_CASING = "    return [part.lower() for part in parts if part and part != \"None\"]\n"
OWN_MODULE_TEST = """\
from cleansing import cleansing


def test_this_flows_cleansing_lowers_case():
    assert cleansing("Pilot, Baker") == ["pilot", "baker"]
"""


def results(done: Done) -> list[str]:
    """The output's group lines, pytest's timings and warning counts taken out."""
    return [re.sub(r", \d+ warnings?| in [\d.]+s", "", line) for line in done.out.splitlines()]


def test_the_use_cases_tests_and_the_tests_beside_their_flows_run_each_with_its_flow(tmp_path: Path) -> None:
    write_original_shapes(tmp_path)
    evaluation = tmp_path / NER / "flows/evaluation"
    cleansing = evaluation / "cleansing.py"
    cleansing.write_text(cleansing.read_text().replace("    return [part for", "    return [part.lower() for"))
    (evaluation / "cleansing_test.py").write_text(OWN_MODULE_TEST)
    done = llmops(tmp_path, "test-flows")
    assert done.code == 0, done.out + done.err
    assert results(done) == [
        "use_cases/math_coding/tests: 1 passed",
        f"{NER}/tests: 1 passed",
        f"{NER}/flows/evaluation: 2 passed",
        f"{NER}/flows/standard: 1 passed",
        "use_cases/web_classification/tests: 1 passed",
        "flow tests: 5 groups, 0 failed",
    ]
    assert not list(tmp_path.rglob("__pycache__")) and not list(tmp_path.rglob(".pytest_cache"))


def test_a_failing_flow_test_fails_the_command_with_pytests_output(tmp_path: Path) -> None:
    write_original_shapes(tmp_path, "named_entity_recognition")
    standard = tmp_path / NER / "flows/standard"
    (standard / "cleansing_test.py").write_text(
        "from cleansing import cleansing\n\n\ndef test_keeps_none():\n    assert cleansing('None') == ['None']\n")
    # Like the original's eval_test.py: it needs what is not installed (and Azure), so it cannot even be collected.
    (standard / "eval_test.py").write_text("import llmops_absent_azure_sdk\n")
    done = llmops(tmp_path, "test-flows", "--use-case", "named_entity_recognition")
    assert done.code == 1
    assert "def test_keeps_none():" in done.out and "ModuleNotFoundError: No module named 'llmops_absent_azure_sdk'" \
        in done.out
    assert results(done)[-2:] == [f"{NER}/flows/standard: 1 failed, 1 error -> FAIL", "flow tests: 3 groups, 1 failed"]

    # pytest's own options follow a `--`: here, leave out the test that cannot run here.
    (standard / "cleansing_test.py").unlink()
    done = llmops(tmp_path, "test-flows", "-u", "named_entity_recognition", "--", "--ignore-glob=*eval_test.py")
    assert (done.code, results(done)[-2:]) == (0, [f"{NER}/flows/standard: no tests ran",
                                                   "flow tests: 3 groups, 0 failed"])


def test_without_tests_it_says_so_and_passes(tmp_path: Path) -> None:
    write_use_case(tmp_path)
    done = llmops(tmp_path, "test-flows")
    assert (done.code, done.out) == (0, "no flow tests: no test_*.py or *_test.py in use_cases/*/tests or beside the "
                                        "flows in use_cases/*/flows; nothing to run\n")


LOCAL_ONLY_TEST = """\
import os


def test_prompt_flow_stays_local():
    names = ("APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED", "PF_DISABLE_TRACING", "PF_TRACING_SKIP_LOCAL_SETUP",
             "PROMPTFLOW_DISABLE_TELEMETRY", "TELEMETRY_ENABLED")
    assert [os.environ.get(name) for name in names] == ["true", "true", "true", "true", "false"]
"""


def test_flow_tests_import_prompt_flow_with_its_network_switches_off(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # Flow code imports prompt flow; left to its defaults, the import asks Azure Monitor for remote settings
    # ("OneSettings CHANGE request failed ... Retrying" on a machine without network).
    for name in LOCAL_ONLY_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    write_original_shapes(tmp_path, "math_coding")
    (tmp_path / "use_cases/math_coding/tests/test_local_only.py").write_text(LOCAL_ONLY_TEST)
    done = llmops(tmp_path, "test-flows", "--use-case", "math_coding")
    assert done.code == 0, done.out + done.err
    assert results(done) == ["use_cases/math_coding/tests: 2 passed", "flow tests: 1 groups, 0 failed"]
