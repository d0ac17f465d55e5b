"""The local workflow runner: expressions with GitHub's semantics, file commands, trigger filters, matrix,
permissions, and small workflows run for real with bash (outputs, env, PATH, summaries, masks, timeouts,
orphan processes, artifacts, the sticky comment and the connections action)."""

from __future__ import annotations

import os
import stat
import textwrap
from pathlib import Path
from typing import Any

import pytest

from llmops.errors import ConfigError, UsageError
from tests.workflow_runner import RunnerSettings, Workflow, WorkflowResult, WorkflowRunner, events
from tests.workflow_runner.expressions import Scope, condition, evaluate, interpolate
from tests.workflow_runner.files import read_key_values, redact, scan_commands
from tests.workflow_runner.permissions import check_within, parse
from tests.workflow_runner.runner import process_alive
from tests.workflow_runner.workflow import Job, filter_pattern

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv"
WORKFLOWS = REPO / ".github" / "workflows"

CONTEXTS: dict[str, Any] = {
    "github": {"event_name": "pull_request", "ref": "refs/heads/development", "event": {"pull_request": {
        "number": 7, "head": {"repo": {"full_name": "Org/Repo"}}}}, "repository": "org/repo"},
    "inputs": {"use_case": "web_classification", "flag": True, "count": 3.0, "empty": ""},
    "steps": {"report": {"outcome": "failure", "outputs": {"path": "reports/x"}}},
    "needs": {"ci": {"result": "success", "outputs": {"state-artifact": "llmops-state-x-dev"}}},
    "vars": {},
    "matrix": {"python": "3.11", "os": ["linux", "mac"]},
}


@pytest.mark.parametrize(("expression", "expected"), [
    ("inputs.use_case", "web_classification"),
    ("inputs['use_case']", "web_classification"),
    ("INPUTS.Use_Case", "web_classification"),  # property names are case-insensitive
    ("inputs.missing", None),
    ("inputs.missing.deeper", None),
    ("'It''s'", "It's"),
    ("1 == 1.0", True),
    ("'ABC' == 'abc'", True),  # strings compare case-insensitively
    ("'3' == 3", True),  # different types compare as numbers
    ("null == 0", True),
    ("'' == false", True),
    ("'x' == 1", False),
    ("inputs.count > 2 && inputs.count <= 3", True),
    ("inputs.empty || 'fallback'", "fallback"),  # || returns an operand, not a boolean
    ("inputs.use_case && inputs.flag", True),
    ("!inputs.empty", True),
    ("github.event.pull_request.head.repo.full_name == github.repository", True),
    ("steps.report.outcome == 'success' || steps.report.outcome == 'failure'", True),
    ("needs.ci.outputs.state-artifact", "llmops-state-x-dev"),
    ("contains(matrix.os, 'MAC')", True),
    ("contains('Hello world', 'WORLD')", True),
    ("startsWith(github.ref, 'refs/heads/')", True),
    ("endsWith(github.ref, 'DEVELOPMENT')", True),
    ("format('{0}-{1} {{literal}}', inputs.use_case, inputs.count)", "web_classification-3 {literal}"),
    ("join(matrix.os, ', ')", "linux, mac"),
    ("fromJSON('{\"a\": [1, 2]}').a[1]", 2),
    ("toJSON(matrix.os)", '[\n  "linux",\n  "mac"\n]'),
    ("steps.report.outcome == 'success' && format('x-{0}', inputs.use_case) || ''", ""),
])
def test_expression_values(expression: str, expected: Any) -> None:
    assert evaluate(expression, Scope(contexts=CONTEXTS)) == expected


@pytest.mark.parametrize(("expression", "message"), [
    ("secrets.X", "if: unknown context 'secrets'; available here: github, inputs, matrix, needs, steps, vars"),
    ("inputs.a ==", "if: 'inputs.a ==' ends early"),
    ("(inputs.a", "if: '(inputs.a' ends early; expected ')'"),
    ("inputs.a = 1", "if: unexpected character '=' at column 10 in 'inputs.a = 1'"),
    ("nope(1)", "if: unknown function 'nope()'; valid: always, cancelled, contains, endsWith, failure, format, "
                "fromJSON, hashFiles, join, startsWith, success, toJSON"),
    ("format('{2}', 1)", "if: format('{2}') has no argument for '{2}'"),
])
def test_expression_errors_name_the_place(expression: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        evaluate(expression, Scope(contexts=CONTEXTS), "if")
    assert str(caught.value) == message


@pytest.mark.parametrize(("template", "expected"), [
    ("${{ inputs.flag }}", True),  # one whole expression keeps its type
    ("${{ inputs.count }}", 3.0),
    ("report-${{ inputs.use_case }}-${{ inputs.count }}", "report-web_classification-3"),
    ("${{ inputs.flag }} and more", "true and more"),
    ("no expression", "no expression"),
    ("${{ '}}' }}", "}}"),  # `}}` inside a string literal does not end the expression
])
def test_interpolate(template: str, expected: Any) -> None:
    assert interpolate(template, Scope(contexts=CONTEXTS)) == expected


@pytest.mark.parametrize(("text", "status", "expected"), [
    (None, "success", True),
    (None, "failure", False),
    ("inputs.flag", "failure", False),  # implicit success() && (...)
    ("${{ inputs.flag }}", "success", True),
    ("always()", "failure", True),
    ("failure()", "failure", True),
    ("failure()", "success", False),
    ("${{ !cancelled() && inputs.flag }}", "failure", True),
    ("cancelled()", "cancelled", True),
    ("success() || inputs.flag", "failure", True),
])
def test_conditions_follow_the_job_status(text: str | None, status: str, expected: bool) -> None:
    assert condition(text, Scope(contexts=CONTEXTS, status=status)) is expected


def test_key_value_files_with_heredoc(tmp_path: Path) -> None:
    path = tmp_path / "set_output"
    path.write_text("a=1\nbody<<EOF\nline one\nline=two\nEOF\nb=x=y\na=2\n")
    assert read_key_values(path) == {"a": "2", "body": "line one\nline=two", "b": "x=y"}


@pytest.mark.parametrize(("content", "message"), [
    ("body<<EOF\nnever closed\n", "set_output: 'body<<EOF' is never closed by a line 'EOF'"),
    ("just text\n", "set_output: line 'just text' is neither 'name=value' nor 'name<<DELIMITER'"),
])
def test_key_value_file_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "set_output"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        read_key_values(path)
    assert str(caught.value) == message


def test_workflow_commands_masks_and_stop_commands() -> None:
    log = "::add-mask::s3cret\n::stop-commands::tok\n::add-mask::ignored\n::tok::\n::warning::careful\n"
    found = scan_commands(log)
    assert found.masks == ["s3cret"]
    assert found.annotations == ["warning: careful"]
    assert redact("key s3cret and s3cret-long", ["s3cret", "s3cret-long"]) == "key *** and ***"


@pytest.mark.parametrize(("pattern", "path", "matches"), [
    ("use_cases/web_classification/**", "use_cases/web_classification/flows/x/flow.dag.yaml", True),
    ("use_cases/web_classification/**", "use_cases/other/llmops_config.json", False),
    ("llmops/*.py", "llmops/errors.py", True),
    ("llmops/*.py", "llmops/cli/main.py", False),
    ("docs/**.md", "docs/a/b.md", True),
    ("feature/?", "feature/x", True),
])
def test_filter_patterns(pattern: str, path: str, matches: bool) -> None:
    assert bool(filter_pattern(pattern).match(path)) is matches


@pytest.mark.parametrize(("workflow", "event", "branch", "changed", "triggered"), [
    ("web_classification_pr_dev_workflow.yml", "pull_request", "development",
     ["use_cases/web_classification/flows/experiment/classify_with_llm.jinja2"], True),
    ("web_classification_pr_dev_workflow.yml", "pull_request", "main", ["llmops/cli/main.py"], True),
    ("web_classification_pr_dev_workflow.yml", "pull_request", "development", ["docs/github_workflows.md"], False),
    ("web_classification_pr_dev_workflow.yml", "pull_request", "feature/x", ["llmops/cli/main.py"], False),
    ("web_classification_pr_dev_workflow.yml", "push", "development", ["llmops/cli/main.py"], False),
    ("web_classification_ci_dev_workflow.yml", "push", "development", ["use_cases/web_classification/data/data.jsonl"],
     True),
    ("web_classification_ci_dev_workflow.yml", "push", "main", ["use_cases/web_classification/data/data.jsonl"], False),
    ("web_classification_ci_dev_workflow.yml", "push", "development", ["README.md"], False),
    ("build_validation_workflow.yml", "pull_request", "development", ["README.md"], True),
    ("web_classification_post_prod_eval.yml", "workflow_dispatch", "development", None, True),
    # Each use case's callers filter on its own folder: a change to one use case runs only its pipelines.
    ("named_entity_recognition_pr_dev_workflow.yml", "pull_request", "development",
     ["use_cases/named_entity_recognition/data/pr_data.jsonl"], True),
    ("named_entity_recognition_pr_dev_workflow.yml", "pull_request", "development",
     ["use_cases/web_classification/flows/experiment/classify_with_llm.jinja2"], False),
    ("web_classification_pr_dev_workflow.yml", "pull_request", "development",
     ["use_cases/named_entity_recognition/flows/experiment/extract_entities.jinja2"], False),
    ("named_entity_recognition_ci_dev_workflow.yml", "push", "development", ["llmops/cli/main.py"], True),
    ("named_entity_recognition_post_prod_eval.yml", "workflow_dispatch", "development", None, True),
    ("math_coding_pr_dev_workflow.yml", "pull_request", "development",
     ["use_cases/math_coding/flows/experiment/sandbox.py"], True),
    ("web_classification_pr_dev_workflow.yml", "pull_request", "development",
     ["use_cases/math_coding/flows/experiment/sandbox.py"], False),
    ("math_coding_ci_dev_workflow.yml", "push", "development", ["use_cases/math_coding/data/data.jsonl"], True),
    ("math_coding_ci_dev_workflow.yml", "push", "development", ["use_cases/web_classification/data/data.jsonl"],
     False),
    ("platform_pr_dev_workflow.yml", "pull_request", "development", ["llmops/x.py"], False),  # only called
])
def test_which_workflows_a_change_triggers(workflow: str, event: str, branch: str, changed: list[str] | None,
                                           triggered: bool) -> None:
    assert Workflow.load(WORKFLOWS / workflow).triggered_by(event, branch, changed) is triggered


@pytest.mark.parametrize(("matrix", "expected"), [
    ({}, [{}]),
    ({"py": ["3.10", "3.11"]}, [{"py": "3.10"}, {"py": "3.11"}]),
    ({"py": ["3.10", "3.11"], "os": ["a", "b"], "exclude": [{"py": "3.10", "os": "b"}]},
     [{"py": "3.10", "os": "a"}, {"py": "3.11", "os": "a"}, {"py": "3.11", "os": "b"}]),
    ({"py": ["3.10", "3.11"], "include": [{"py": "3.11", "extra": "yes"}, {"py": "3.12"}]},
     [{"py": "3.10"}, {"py": "3.11", "extra": "yes"}, {"py": "3.12"}]),
])
def test_matrix_expansion(matrix: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    assert Job("j", {"strategy": {"matrix": matrix}}).matrix_combinations() == expected


def test_nested_job_cannot_exceed_the_callers_permissions() -> None:
    caller = parse({"contents": "read"}, "caller")
    nested = parse({"pull-requests": "write"}, "nested")
    assert caller is not None and nested is not None
    with pytest.raises(ConfigError) as caught:
        check_within(nested, caller, "pr/comment")
    assert str(caught.value) == ("the nested job 'pr/comment' is requesting 'pull-requests: write', but is only "
                                 "allowed 'pull-requests: none'; grant it on the calling job")
    assert parse("read-all", "x") == {**{s: "read" for s in nested}, "id-token": "none"}


# ---- small workflows run for real ------------------------------------------------------------------------

def _workspace(tmp_path: Path, files: dict[str, str]) -> Path:
    workspace = tmp_path / "workspace"
    for name, content in files.items():
        path = workspace / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content), encoding="utf-8")
    return workspace


def _run(tmp_path: Path, files: dict[str, str], event: events.Event | None = None, jobs: list[str] | None = None,
         secrets: dict[str, str] | None = None, variables: dict[str, str] | None = None) -> WorkflowResult:
    workspace = _workspace(tmp_path, files)
    settings = RunnerSettings(workspace=workspace, out_dir=tmp_path / "out", venv=VENV,
                              event=event or events.push(), secrets=secrets or {}, vars=variables or {})
    return WorkflowRunner(settings).run_workflow(".github/workflows/w.yml", jobs=jobs)


STEPS_WORKFLOW = """\
name: steps
on: push
permissions: {}
env:
  GREETING: hello
jobs:
  first:
    runs-on: ubuntu-latest
    timeout-minutes: 5
    outputs:
      word: ${{ steps.produce.outputs.word }}
    steps:
      - id: produce
        shell: bash
        run: |
          echo "word=forty-two" >> "$GITHUB_OUTPUT"
          { echo "text<<EOF"; echo "two"; echo "lines"; echo "EOF"; } >> "$GITHUB_OUTPUT"
          echo "LATER=set-by-file" >> "$GITHUB_ENV"
          mkdir -p tools && printf '#!/bin/sh\\necho tool-ran\\n' > tools/mytool && chmod +x tools/mytool
          echo "$GITHUB_WORKSPACE/tools" >> "$GITHUB_PATH"
          echo "## Summary of first" >> "$GITHUB_STEP_SUMMARY"
      - name: sees what the first step set
        shell: bash
        env:
          FROM_OUTPUT: ${{ steps.produce.outputs.text }}
        run: |
          test "$LATER" = set-by-file
          test "$FROM_OUTPUT" = "$(printf 'two\\nlines')"
          test "$(mytool)" = tool-ran
          test "$GREETING" = hello && test "$GITHUB_EVENT_NAME" = push && test "$GITHUB_ACTIONS" = true
          test "$GITHUB_REF_NAME" = development && test "$CI" = true && test -f "$GITHUB_EVENT_PATH"
          echo "* second saw everything" >> "$GITHUB_STEP_SUMMARY"
      - name: fails but continues
        id: flaky
        continue-on-error: true
        run: exit 4
      - name: not skipped after continue-on-error
        if: steps.flaky.outcome == 'failure' && steps.flaky.conclusion == 'success'
        run: echo ok
  second:
    needs: first
    runs-on: ubuntu-latest
    timeout-minutes: 5
    steps:
      - env:
          WORD: ${{ needs.first.outputs.word }}
        run: test "$WORD" = forty-two
"""


def test_steps_share_outputs_env_path_and_summary(tmp_path: Path) -> None:
    result = _run(tmp_path, {".github/workflows/w.yml": STEPS_WORKFLOW})
    assert result.exit_code == 0, result.describe()
    first = result.jobs["first"]
    assert first.outputs == {"word": "forty-two"}
    assert first.summary == "## Summary of first\n* second saw everything\n"
    assert (tmp_path / "out/summaries/first.md").read_text() == first.summary
    assert [(s.outcome, s.conclusion) for s in first.steps] == [
        ("success", "success"), ("success", "success"), ("failure", "success"), ("success", "success")]
    assert first.steps[2].exit_code == 4
    assert result.jobs["second"].result == "success"


FAILURE_WORKFLOW = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    timeout-minutes: 5
    steps:
      - name: breaks
        run: exit 3
      - name: skipped by default
        run: echo never
      - name: runs on failure
        if: failure()
        run: echo "cleanup ran" >> "$GITHUB_STEP_SUMMARY"
  after:
    needs: build
    runs-on: ubuntu-latest
    timeout-minutes: 5
    steps:
      - run: echo never
  report:
    needs: build
    if: ${{ !cancelled() }}
    runs-on: ubuntu-latest
    timeout-minutes: 5
    steps:
      - env:
          RESULT: ${{ needs.build.result }}
        run: test "$RESULT" = failure
"""


def test_a_failed_step_fails_the_job_and_skips_what_needs_success(tmp_path: Path) -> None:
    result = _run(tmp_path, {".github/workflows/w.yml": FAILURE_WORKFLOW})
    build = result.jobs["build"]
    assert (build.result, result.exit_code) == ("failure", 1)
    assert [s.outcome for s in build.steps] == ["failure", "skipped", "success"]
    assert "##[error]Process completed with exit code 3." in build.steps[0].log
    assert build.summary == "cleanup ran\n"
    assert result.jobs["after"].result == "skipped"
    assert result.jobs["report"].result == "success"


def test_secrets_and_added_masks_never_reach_a_log(tmp_path: Path) -> None:
    workflow = """\
    on: push
    jobs:
      j:
        runs-on: ubuntu-latest
        timeout-minutes: 5
        steps:
          - env:
              TOKEN: ${{ secrets.API_TOKEN }}
            run: |
              echo "token is $TOKEN"
              echo "::add-mask::derived-value-9"
              echo "derived is derived-value-9"
    """
    result = _run(tmp_path, {".github/workflows/w.yml": workflow}, secrets={"API_TOKEN": "tok-123456789"})
    log = result.jobs["j"].steps[0].log
    assert log == "token is ***\nderived is ***\n"


def test_timeouts_and_orphans_are_ended(tmp_path: Path) -> None:
    workflow = """\
    on: push
    jobs:
      j:
        runs-on: ubuntu-latest
        timeout-minutes: 5
        steps:
          - name: leaves a process behind
            run: |
              nohup sleep 300 > /dev/null 2>&1 &
              echo $! > orphan.pid
          - name: too slow
            timeout-minutes: 0.02
            run: sleep 30
    """
    result = _run(tmp_path, {".github/workflows/w.yml": workflow})
    job = result.jobs["j"]
    assert job.steps[1].note == "timed out" and job.steps[1].outcome == "failure"
    orphan = int((tmp_path / "workspace/orphan.pid").read_text())
    prefix = "ended orphan process(es) left running by the job: "
    ended = [int(pid) for note in job.notes if note.startswith(prefix) for pid in note[len(prefix):].split(", ")]
    assert orphan in ended, job.notes  # with it, under load, the timed-out step's sleep may still be on its way out
    assert not process_alive(orphan)


def _artifact_workflow(upload_with: str) -> str:
    return f"""\
    on: push
    jobs:
      j:
        runs-on: ubuntu-latest
        timeout-minutes: 5
        steps:
          - run: mkdir -p out/sub .state && echo a > out/a.txt && echo b > out/sub/b.txt && echo s > .state/db
          - uses: actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2
            with:
{textwrap.indent(textwrap.dedent(upload_with), " " * 14)}
    """


@pytest.mark.parametrize(("upload_with", "files", "outcome"), [
    ("name: r\npath: out/\n", ["a.txt", "sub/b.txt"], "success"),  # a folder is the artifact's root
    ("name: r\npath: |\n  out/a.txt\n  out/sub/\n", ["a.txt", "sub/b.txt"], "success"),  # common ancestor
    ("name: r\npath: out/**/*.txt\n", ["a.txt", "sub/b.txt"], "success"),
    ("name: r\npath: |\n  out/\n  !out/sub/**\n", ["a.txt"], "success"),
    ("name: r\npath: .state/\n", [], "success"),  # hidden files left out by default: warn, no artifact
    ("name: r\npath: .state/\ninclude-hidden-files: true\n", ["db"], "success"),
    ("name: r\npath: .state/\nif-no-files-found: error\n", [], "failure"),
])
def test_upload_artifact_follows_v4_rules(tmp_path: Path, upload_with: str, files: list[str], outcome: str) -> None:
    result = _run(tmp_path, {".github/workflows/w.yml": _artifact_workflow(upload_with)})
    step = result.jobs["j"].steps[1]
    assert step.outcome == outcome, step.note
    stored = result.artifacts_dir / "r"
    assert sorted(str(p.relative_to(stored)) for p in stored.rglob("*") if p.is_file()) == files


COMMENT_WORKFLOW = """\
on: pull_request
jobs:
  j:
    runs-on: ubuntu-latest
    timeout-minutes: 5
    permissions:
      pull-requests: write
    steps:
      - uses: actions/github-script@60a0d83039c74a4aee543508d2ffcb1c3799cdea # v7.0.1
        env:
          COMMENT_BODY_FILE: body.md
        with:
          script: "// posts body.md"
"""


def test_sticky_comment_is_created_then_updated(tmp_path: Path) -> None:
    files = {".github/workflows/w.yml": COMMENT_WORKFLOW, "body.md": "<!-- marker:a -->\nfirst\n"}
    first = _run(tmp_path, files, event=events.pull_request(9))
    assert first.jobs["j"].steps[0].outputs["result"] == "created"
    (tmp_path / "workspace/body.md").write_text("<!-- marker:a -->\nsecond\n")
    again = WorkflowRunner(RunnerSettings(workspace=tmp_path / "workspace", out_dir=tmp_path / "out", venv=VENV,
                                          event=events.pull_request(9))).run_workflow(".github/workflows/w.yml")
    assert again.jobs["j"].steps[0].outputs["result"] == "updated"
    assert again.comments() == [{"id": 1, "pull_request": 9, "body": "<!-- marker:a -->\nsecond\n", "updates": 1}]
    assert (tmp_path / "out/pr-comments/1.md").read_text() == "<!-- marker:a -->\nsecond\n"


def test_comment_body_without_marker_fails(tmp_path: Path) -> None:
    files = {".github/workflows/w.yml": COMMENT_WORKFLOW, "body.md": "no marker\n"}
    result = _run(tmp_path, files, event=events.pull_request(9))
    assert result.jobs["j"].steps[0].note == ("github-script: the first line of 'body.md' must be a hidden marker "
                                             "such as '<!-- llmops-report:<use_case>:<env> -->'; found 'no marker'")
    assert result.exit_code == 1


def test_connections_action_writes_env_and_masks_keys(tmp_path: Path) -> None:
    # The connections come from a repository variable here, not a secret: GitHub (and this runner) mask every
    # secret anyway, so only a variable shows that the action masks each api_key by itself.
    workflow = """\
    on: push
    jobs:
      j:
        runs-on: ubuntu-latest
        timeout-minutes: 5
        steps:
          - uses: ./.github/actions/llm-connections
            with:
              connections: ${{ vars.CONNECTIONS }}
          - name: show
            run: cat .env || echo "no .env"
    """
    files = {".github/workflows/w.yml": workflow, ".github/actions/llm-connections/action.yml":
             (REPO / ".github/actions/llm-connections/action.yml").read_text()}
    without = _run(tmp_path / "without", files)
    assert without.jobs["j"].steps[0].children[0].outcome == "skipped"
    assert without.jobs["j"].steps[1].log == "cat: .env: No such file or directory\nno .env\n"
    connections = ('aoai={"api_key": "sk-abcdef123456", "api_type": "openai"}\n'
                   'other={"api_base": "https://x.openai.azure.com/", "api_key":"k-98765432", "api_type": "azure"}')
    result = _run(tmp_path / "with", files, variables={"CONNECTIONS": connections})
    env_file = tmp_path / "with/workspace/.env"
    assert env_file.read_text() == connections + "\n"
    assert stat.S_IMODE(os.stat(env_file).st_mode) == 0o600
    assert result.jobs["j"].steps[1].log == ('aoai={"api_key": "***", "api_type": "openai"}\n'
                                             'other={"api_base": "https://x.openai.azure.com/", "api_key":"***", '
                                             '"api_type": "azure"}\n')


def test_unknown_job_and_wrong_event_are_usage_errors(tmp_path: Path) -> None:
    files = {".github/workflows/w.yml": FAILURE_WORKFLOW}
    with pytest.raises(UsageError) as caught:
        _run(tmp_path, files, jobs=["nope"])
    assert str(caught.value) == "unknown job(s) nope in w.yml; jobs: build, after, report"
    with pytest.raises(UsageError) as caught:
        _run(tmp_path / "2", files, event=events.pull_request())
    assert str(caught.value) == "w.yml is not triggered by 'pull_request'; its triggers: push"
    with pytest.raises(UsageError) as caught:
        _run(tmp_path / "3", files, jobs=["after"])
    assert str(caught.value) == "job 'after' needs build, which this run leaves out; select those jobs too"


def test_caller_must_grant_what_the_called_jobs_ask(tmp_path: Path) -> None:
    caller = """\
    on: pull_request
    permissions: {}
    jobs:
      pr:
        permissions:
          contents: read
        uses: ./.github/workflows/platform_pr_dev_workflow.yml
        with:
          use_case: web_classification
    """
    files = {".github/workflows/w.yml": caller, ".github/workflows/platform_pr_dev_workflow.yml":
             (WORKFLOWS / "platform_pr_dev_workflow.yml").read_text()}
    with pytest.raises(ConfigError) as caught:
        _run(tmp_path, files, event=events.pull_request())
    # The backend and pipeline jobs (contents: read) fit; the first job asking for more, azureml's OIDC token
    # (which it asks for whatever the env's backend), is refused before any job starts, as GitHub refuses it.
    assert str(caught.value) == ("the nested job 'pr/azureml' is requesting 'id-token: write', but is only "
                                 "allowed 'id-token: none'; grant it on the calling job")
