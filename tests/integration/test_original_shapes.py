"""Use-case folders of the original template's three shapes (tests/support/original_shapes.py) load, validate and
run unchanged through the real CLI and real prompt flow runs, their LLM an Azure-OpenAI-type connection to a
loopback server: each pr env; named_entity_recognition's postprodeval env, whose standard flow judges a registered
production log; math_coding's pr env, whose data has no ground truth, so its evaluation is skipped, saying why."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import Done, llmops
from tests.support.mini_use_case import edit_json
from tests.support.original_shapes import ShapesUpstream, write_azure_connection, write_original_shapes

MC = "use_cases/math_coding"
NER = "use_cases/named_entity_recognition"
SKIPPED = ("evaluation 'math_evaluation_flow' skipped for env 'pr': dataset 'math_coding_pr' has no column "
           "'groundtruth' (mapped as ${data.groundtruth}); link a test_data dataset with RELATED_EXP_DATASET to "
           "evaluate")
NOT_NEEDED = "is not installed; no file of flow '{}' imports it, so its runs do not need it"


@pytest.fixture
def upstream() -> Iterator[ShapesUpstream]:
    with ShapesUpstream() as server:
        yield server


def run(root: Path, use_case: str, env: str) -> Done:
    return llmops(root, "run", "-u", use_case, "-e", env, "--provider", "azure_openai")


def runs_table(done: Done) -> list[str]:
    """The run lines of the output, the content hash of each run name taken out."""
    return [re.sub(r"_[0-9a-f]{6}:", ":", line) for line in done.out.splitlines() if " lines, " in line]


def test_the_three_shapes_validate_with_notes_and_warnings(tmp_path: Path) -> None:
    write_original_shapes(tmp_path)
    done = llmops(tmp_path, "validate")
    assert done.code == 0, done.out + done.err
    assert done.out.splitlines() == [
        f"warning: {MC}/flows/math_standard_flow/requirements.txt: line 1: 'langchain' "
        + NOT_NEEDED.format("math_standard_flow"),
        f"warning: {MC}/flows/math_standard_flow/requirements.txt: line 2: 'sympy' "
        + NOT_NEEDED.format("math_standard_flow"),
        f"note: {MC}/configs/mapping_config.json: evaluation.math_evaluation_flow: {SKIPPED}",
        "math_coding: ok (2 envs: pr, dev; 3 datasets)",
        f"warning: {NER}/configs/mapping_config.json: experiment: flow input 'llm_result' of "
        "'flows/post-production-evaluation' is not mapped, so every line takes its default (\"pilot\"), though "
        "dataset 'named_entity_recognition_pp_eval' has a column 'llm_result'; to read the column, map the flow's "
        'inputs under "evaluation": {"post-production-evaluation": {"text": "${data.text}", "entity_type": '
        '"${data.entity_type}", "llm_result": "${data.llm_result}"}}, which env \'postprodeval\' reads instead of '
        '"experiment"',
        f"warning: {NER}/flows/standard/requirements.txt: line 3: 'promptflow-sdk[builtins]' "
        + NOT_NEEDED.format("standard"),
        f"warning: {NER}/flows/evaluation/requirements.txt: line 2: 'promptflow-sdk[builtins]' "
        + NOT_NEEDED.format("evaluation"),
        "named_entity_recognition: ok (3 envs: pr, dev, postprodeval; 4 datasets)",
        "web_classification: ok (2 envs: pr, dev; 5 datasets)",
    ]


RUNS = {
    "web_classification": [
        "web_classification_pr_defaults_web_classification_pr: 4 lines, 0 failed (ran 4 lines)",
        "web_classification_pr_summarize_text_content.variant_1_web_classification_pr: 4 lines, 0 failed "
        "(ran 4 lines)",
        "web_classification_pr_defaults.evaluation_web_classification_pr: 4 lines, 0 failed (ran 4 lines); "
        "accuracy=1.000",
        "web_classification_pr_summarize_text_content.variant_1.evaluation_web_classification_pr: 4 lines, "
        "0 failed (ran 4 lines); accuracy=1.000",
    ],
    "named_entity_recognition": [
        "named_entity_recognition_pr_defaults_temp_dataset: 5 lines, 0 failed (ran 5 lines)",
        "named_entity_recognition_pr_defaults.evaluation_temp_dataset: 5 lines, 0 failed (ran 5 lines); "
        "exact_match_rate=0.800, partial_match_rate=0.800",
    ],
    "math_coding": ["math_coding_pr_defaults_math_coding_pr: 4 lines, 0 failed (ran 4 lines)"],
}


@pytest.mark.parametrize("use_case", RUNS)
def test_each_shape_runs_its_pr_env(tmp_path: Path, upstream: ShapesUpstream, use_case: str) -> None:
    write_original_shapes(tmp_path, use_case)
    write_azure_connection(tmp_path, upstream)
    done = run(tmp_path, use_case, "pr")
    assert done.code == 0, done.err[-3000:]
    assert runs_table(done) == RUNS[use_case]
    assert (SKIPPED in done.out.splitlines()) == (use_case == "math_coding")
    assert all(request.path.startswith("/openai/deployments/gpt-35-turbo/") for request in upstream.requests)


def test_the_postprodeval_env_judges_its_production_log_and_gates_the_judgements(
        tmp_path: Path, upstream: ShapesUpstream) -> None:
    folder = write_named_entity_recognition_with_gate(tmp_path, ">= 3")
    write_azure_connection(tmp_path, upstream)
    done = run(tmp_path, "named_entity_recognition", "postprodeval")
    assert done.code == 0, done.err[-3000:]
    assert runs_table(done) == ["named_entity_recognition_postprodeval_defaults_named_entity_recognition_pp_eval: "
                                "4 lines, 0 failed (ran 4 lines); average_score=4.000"]
    assert "gate average_score >= 3 on defaults: 4.0 -> pass" in done.out
    assert len(upstream.requests) == 4  # one judgement per logged request, and nothing else ran

    # The report and its gates read the judging run as an evaluation: a gate it misses fails (exit 3).
    edit_json(folder / "llmops_config.json", lambda c: c["envs"][2].update(GATES={"average_score": ">= 4.5"}))
    report = llmops(tmp_path, "report", "-u", "named_entity_recognition", "-e", "postprodeval")
    assert report.code == 3
    assert report.err.splitlines()[-3:] == [
        "error: 1 of 1 quality gate checks failed:",
        "  average_score of variant 'defaults' (baseline, best; post-production-evaluation, dataset "
        "'named_entity_recognition_pp_eval'): 4, needs >= 4.5",
        "Improve the flow or its prompts, or change the gates in llmops_config.json if a threshold is wrong.",
    ]
    # post-prod-eval is for POST_PROD_EVALUATION_FLOW_PATH; such an env is run with `run`, and it says so.
    post_prod = llmops(tmp_path, "post-prod-eval", "-u", "named_entity_recognition", "-e", "postprodeval")
    assert (post_prod.code, post_prod.err) == (1, (
        "error: env 'postprodeval' of use case 'named_entity_recognition' judges its production log with its "
        "standard flow, as the original template's postprodeval env does; run: llmops run --use-case "
        "named_entity_recognition --env postprodeval\n"))


def write_named_entity_recognition_with_gate(root: Path, gate: str) -> Path:
    write_original_shapes(root, "named_entity_recognition")
    folder = root / "use_cases/named_entity_recognition"
    edit_json(folder / "llmops_config.json", lambda c: c["envs"][2].update(GATES={"average_score": gate}))
    return folder


def test_a_skipped_evaluation_fails_the_gate_on_its_metric_and_dev_still_evaluates_on_its_test_data(
        tmp_path: Path, upstream: ShapesUpstream) -> None:
    write_original_shapes(tmp_path, "math_coding")
    edit_json(tmp_path / MC / "llmops_config.json", lambda c: c["envs"][0].update(GATES={"accuracy": ">= 0.5"}))
    write_azure_connection(tmp_path, upstream)
    pr = run(tmp_path, "math_coding", "pr")
    assert pr.code == 3, pr.err[-3000:]
    gate_note = f"no evaluation flow reports 'accuracy' (reported: none); {SKIPPED}"
    assert pr.out.splitlines()[-3:-1] == [SKIPPED, f"gate accuracy >= 0.5: {gate_note} -> FAIL"]
    assert pr.err.splitlines()[-3:-1] == ["error: 1 of 1 quality gate checks failed:",
                                          f"  accuracy >= 0.5: {gate_note}"]
    summary = (tmp_path / "reports/math_coding/pr/latest/summary.md").read_text()
    assert f"- ⏭️ {SKIPPED}\n" in summary and f"- ❌ `accuracy` >= 0.5: {gate_note}\n" in summary

    # dev reads the same file as pr, so it reuses pr's run (content-addressed), whose record names pr's dataset;
    # dev's evaluation still reads the test data linked to dev's own dataset.
    dev = run(tmp_path, "math_coding", "dev")
    assert dev.code == 0, dev.err[-3000:]
    assert runs_table(dev) == [
        "math_coding_pr_defaults_math_coding_pr: 4 lines, 0 failed (reused)",
        "math_coding_dev_defaults.math_evaluation_flow_math_coding_test: 4 lines, 0 failed (ran 4 lines); "
        "accuracy=1.000, error_rate=0.000",
    ]
    assert not [line for line in dev.out.splitlines() if line.startswith("evaluation ")]  # none skipped
