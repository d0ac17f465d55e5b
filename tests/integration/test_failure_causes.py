"""Real runs that fail every line for a known cause: the run's output, summary.md and report.html each
group the failed lines by cause with the fix, and the gate says it has no value because every line failed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from markupsafe import escape

from tests.support.cli import Done, llmops
from tests.support.llm_use_case import LLM_DAG, PROMPT
from tests.support.loopback_upstream import LoopbackUpstream, ScriptedAnswer
from tests.support.mini_use_case import edit_json, write_use_case

pytestmark = pytest.mark.timeout(300)

OFFLINE = {"LLMOPS_OFFLINE": "1"}  # no embedded model download
GATE_LINE = "gate accuracy >= 0.8 on eval: no value (every line failed) -> FAIL"
MD_GATE = "- ❌ `accuracy` >= 0.8 on eval: no value (every line failed)"
SKIPPED = "not evaluated: the experiment line failed"
FOLLOWS = "these follow from the failed experiment lines: fix those and the next run evaluates them"


@dataclass(frozen=True)
class Scenario:
    cause_start: str  # how the group's cause begins (the rest names paths and ports of this run)
    fix: str
    upstream: ScriptedAnswer | None = None  # every LLM call is answered with this; None: no upstream
    module_flow: bool = False  # a python node importing a package that is not installed, instead of the LLM


SCENARIOS = {
    "replay miss": Scenario(
        "OpenAI API hits NotFoundError: Error code: 404 - replay miss: no recorded response for request … "
        "(flow 'standard', node 'classify') in '",
        "record the responses: llmops record -u mini -e pr",
    ),
    "key refused": Scenario(
        "OpenAI API hits AuthenticationError: Error code: 401 - ",
        "the provider refused the key of connection 'aoai': correct api_key in .env line 1",
        upstream=ScriptedAnswer(401),
    ),
    "rate limited": Scenario(
        "upstream 'azure-http://127.0.0.1:",
        "the provider is rate-limiting; the failed lines are retried on the next run; "
        "lower CONCURRENCY in llmops_config.json",
        upstream=ScriptedAnswer(429, headers={"retry-after": "0"}),
    ),
    # An import made at run time, which reading the flow's imports before the run cannot see
    # (tests/integration/test_flow_requirements.py has those it sees).
    "missing module": Scenario(
        "Execution failure in 'classify': (ModuleNotFoundError) No module named 'llmops_missing_pkg'",
        "install the package: pip install llmops_missing_pkg, and list it in "
        "use_cases/mini/flows/standard/requirements.txt",
        module_flow=True,
    ),
}


def write_mini(root: Path, scenario: Scenario) -> None:
    folder = write_use_case(root)
    flow = folder / "flows/standard"
    if scenario.module_flow:
        classify = flow / "classify.py"
        classify.write_text(classify.read_text().replace(
            "    word =", "    importlib.import_module('llmops_missing_pkg.sub')\n    word =").replace(
            "from promptflow", "import importlib\n\nfrom promptflow"))
        (flow / "requirements.txt").write_text("promptflow\n")
    else:
        (flow / "flow.dag.yaml").write_text(LLM_DAG)
        (flow / "classify.jinja2").write_text(PROMPT)
    edit_json(folder / "llmops_config.json", lambda c: c["envs"][0].update(GATES={"accuracy": ">= 0.8"}))


def run_mini(root: Path, scenario: Scenario) -> Done:
    command = ("run", "-u", "mini", "-e", "pr", "--variants", "defaults")
    if scenario.upstream is None:
        return llmops(root, *command, "--provider", "auto" if scenario.module_flow else "replay", env=OFFLINE)
    with LoopbackUpstream(script=[scenario.upstream] * 100) as upstream:
        connection = {"api_key": "test-key", "api_base": upstream.url, "api_type": "azure", "api_version": "2024-02-01"}
        (root / ".env").write_text(f"aoai={json.dumps(connection)}\n")
        return llmops(root, *command, "--provider", "azure_openai", env=OFFLINE)


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_failed_line_says_why_in_the_output_the_pr_comment_and_the_report(tmp_path: Path, name: str) -> None:
    scenario = SCENARIOS[name]
    write_mini(tmp_path, scenario)
    done = run_mini(tmp_path, scenario)
    assert done.code == 1, done.err[-3000:]

    out = done.out.splitlines()
    start = out.index("failed lines by cause (the next run retries them):")
    group, example, fix, skipped, skipped_example, follows, gate = out[start + 1:start + 8]
    assert group.startswith(f"  4 lines: {scenario.cause_start}")
    assert example == "    e.g. line 0 of defaults (mini_pr)"
    shown_fix = scenario.fix
    assert fix == f"    fix: {shown_fix}"
    assert (skipped, skipped_example, follows) == (
        f"  4 lines: {SKIPPED}", "    e.g. line 0 of defaults.eval (mini_pr)", f"    fix: {FOLLOWS}",
    )
    assert gate == GATE_LINE

    latest = tmp_path / "reports/mini/pr/latest"
    summary = (latest / "summary.md").read_text().splitlines()
    start = summary.index("**Failed lines by cause** (the next run retries them):")
    group, skipped = summary[start + 1:start + 3]
    assert group.startswith(f"- 4 lines, e.g. line 0 of `defaults` (`mini_pr`): `{scenario.cause_start}")
    assert group.endswith(f"` → **fix:** {shown_fix}")
    assert skipped == f"- 4 lines, e.g. line 0 of `defaults.eval` (`mini_pr`): `{SKIPPED}` → **fix:** {FOLLOWS}"
    assert MD_GATE in summary

    html = (latest / "report.html").read_text()
    failures = html[html.index('<section id="failures">'):html.index('<section id="charts">')]
    for text in (f"<pre>{escape(scenario.cause_start)}", escape(shown_fix), "line 0 of defaults (mini_pr)",
                 f"<pre>{SKIPPED}</pre>", FOLLOWS, "8 lines failed; the next run retries them."):
        assert text in failures
    gates = html[html.index('<section id="gates">'):html.index('<section id="metrics">')]
    assert '<td class="num">no value (every line failed)</td>' in gates


def test_experiment_and_evaluate_group_their_own_failed_lines(tmp_path: Path) -> None:
    scenario = SCENARIOS["missing module"]
    write_mini(tmp_path, scenario)
    assert llmops(tmp_path, "register-data", "-u", "mini", "-e", "pr", env=OFFLINE).code == 0
    experiment = llmops(tmp_path, "experiment", "-u", "mini", "-e", "pr", "--variants", "defaults", env=OFFLINE)
    evaluate = llmops(tmp_path, "evaluate", "-u", "mini", "-e", "pr", env=OFFLINE)
    assert (experiment.code, evaluate.code) == (1, 0), experiment.err[-3000:] + evaluate.err[-3000:]
    assert experiment.out.splitlines()[-4:] == [
        "failed lines by cause (the next run retries them):",
        f"  4 lines: {scenario.cause_start}",
        "    e.g. line 0 of defaults (mini_pr)",
        f"    fix: {scenario.fix}",
    ]
    assert evaluate.out.splitlines()[-4:] == [
        "failed lines by cause (the next run retries them):",
        f"  4 lines: {SKIPPED}",
        "    e.g. line 0 of defaults.eval (mini_pr)",
        f"    fix: {FOLLOWS}",
    ]


def test_a_flow_that_cannot_load_says_which_package_to_install(tmp_path: Path) -> None:
    # Loaded at run time, so only prompt flow finds it missing: the last resort names the package all the same.
    classify = write_use_case(tmp_path) / "flows/standard/classify.py"
    classify.write_text("import importlib\nimportlib.import_module('llmops_missing_pkg')\n" + classify.read_text())
    assert llmops(tmp_path, "register-data", "-u", "mini", "-e", "pr", env=OFFLINE).code == 0
    done = llmops(tmp_path, "experiment", "-u", "mini", "-e", "pr", "--variants", "defaults", env=OFFLINE)
    assert done.code == 1
    error, fix, verbose = done.err.splitlines()[-3:]
    assert error.startswith("error: unexpected ResolveToolError: Tool load failed in 'classify': ")
    assert error.endswith("No module named 'llmops_missing_pkg'")
    assert (fix, verbose) == ("fix: install the package: pip install llmops_missing_pkg",
                              "rerun with --verbose for the traceback")
