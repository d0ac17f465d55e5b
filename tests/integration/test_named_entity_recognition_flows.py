"""The named_entity_recognition use case's flow code and data: answer parsing and grounding, entity-set
scoring, the judge's score parsing, and the evaluation flow run for real by prompt flow's executor (pure
Python, no LLM). The LLM nodes run end to end on recorded answers in tests/e2e/test_named_entity_recognition_replay.py.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support.quiet_prompt_flow import quiet_prompt_flow as local_prompt_flow

USE_CASE = Path(__file__).resolve().parents[2] / "use_cases" / "named_entity_recognition"
FLOWS = USE_CASE / "flows"


def load(flow: str, module: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"ner_{flow}_{module}", FLOWS / flow / f"{module}.py")
    assert spec and spec.loader
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def read_jsonl(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (USE_CASE / name).read_text(encoding="utf-8").splitlines() if line.strip()]


PARSE = load("experiment", "parse_entities")
SCORE = load("evaluation", "score_entities")
AGGREGATE = load("evaluation", "aggregate_scores")
JUDGE_SCORE = load("evaluation_post_prod", "parse_score")
JUDGE_AGGREGATE = load("evaluation_post_prod", "aggregate_scores")
FORMAT = load("evaluation_post_prod", "format_answer")

# ---- the standard flow's parsing and grounding -------------------------------------------------------------

TEXT = "She rewrote the billing service from Java to Go over the summer, with C++ for the hot loop."


@pytest.mark.parametrize(("answer", "entities"), [
    ('["Java", "Go"]', ["Java", "Go"]),
    ('```json\n["java", "GO"]\n```', ["Java", "Go"]),  # fenced, and spelled as the text spells it
    ("['Java', 'C++']", ["Java", "C++"]),  # Python literal; a name ending in punctuation
    ('The languages are: [{"text": "Java"}, {"name": "Go"}].', ["Java", "Go"]),  # prose, objects
    ("- Java\n- Go\n", ["Java", "Go"]),
    ("1. Java\n2) Go", ["Java", "Go"]),
    ("Java, Go; C++", ["Java", "Go", "C++"]),
    ('["Java", "Go", "Ru', ["Java", "Go"]),  # cut off by max_tokens: the complete strings only
    ('["Java", "java", " Java "]', ["Java"]),  # each once
    ('["Python", "billing"]', ["billing"]),  # invented names are dropped; grounding is all it checks
    ('["Jav", "Gothenburg"]', []),  # whole words only
    ("None", []),
    ("No entities.", []),
    ("[]", []),
    ("", []),
    ('{"entities": ', []),
])
def test_answers_are_read_however_untidy_and_grounded_in_the_text(answer: str, entities: list[str]) -> None:
    assert PARSE.ground(PARSE.read_answer(answer), TEXT) == entities


def test_a_name_spread_over_a_line_break_in_the_text_is_found() -> None:
    assert PARSE.ground(["University of Leeds"], "the University of\nLeeds signed") == ["University of\nLeeds"]


# ---- the evaluation flow ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("truth", "prediction", "expected"), [
    (["Marta Ruiz", "Ken Oduya"], ["Ken Oduya", "Marta Ruiz"], (1.0, 1.0, 1.0, 1.0)),
    (["Marta Ruiz", "Ken Oduya"], ["marta  ruiz"], (0.0, 1.0, 0.5, 0.6667)),
    (["World Bank"], ["the World Bank", "Greenpeace"], (0.0, 0.5, 1.0, 0.6667)),  # a leading "the" is ignored
    ([], [], (1.0, 1.0, 1.0, 1.0)),  # rightly found nothing
    ([], ["storm"], (0.0, 0.0, 0.0, 0.0)),
    (["Java", "Go"], [], (0.0, 0.0, 0.0, 0.0)),
    ('["Java", "Go"]', ["Go", "Go"], (0.0, 1.0, 0.5, 0.6667)),  # a column stored as JSON text; duplicates once
])
def test_a_line_is_scored_as_entity_sets(truth: Any, prediction: Any, expected: tuple[float, ...]) -> None:
    scored = SCORE.score(truth, prediction)
    assert (scored["exact_match"], scored["precision"], scored["recall"], scored["f1"]) == expected


def test_missed_and_extra_entities_are_named() -> None:
    scored = SCORE.score(["Nairobi", "Mombasa"], ["Nairobi", "Lisbon"])
    assert (scored["missed"], scored["extra"]) == (["mombasa"], ["lisbon"])


def test_the_run_metrics_are_line_means_and_micro_averages() -> None:
    scores = [SCORE.score(["a", "b", "c", "d"], ["a", "b", "c", "d"]), SCORE.score(["e"], ["f"])]
    assert AGGREGATE.aggregate(scores) == {
        "exact_match": 0.5, "precision": 0.5, "recall": 0.5, "f1": 0.5,  # each line weighs the same
        "micro_precision": 0.8, "micro_recall": 0.8, "micro_f1": 0.8,  # each entity weighs the same
    }
    assert AGGREGATE.aggregate([])["f1"] == 0.0


@pytest.fixture(scope="module")
def quiet_prompt_flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep prompt flow off the network and out of ~/.promptflow: no trace service, no telemetry."""
    with local_prompt_flow(tmp_path_factory.mktemp("pf_home")):
        yield


def test_the_evaluation_flow_scores_lines_and_logs_its_metrics(quiet_prompt_flow: None) -> None:
    from promptflow.executor import FlowExecutor

    flow = FLOWS / "evaluation"
    executor = FlowExecutor.create(flow / "flow.dag.yaml", connections={}, working_dir=flow)
    lines = [{"ground_truth": ["Java", "Go"], "prediction": ["Go"]},
             {"ground_truth": [], "prediction": []},
             {"ground_truth": ["Lisbon"], "prediction": ["Lisbon", "Tuesday"]}]
    results = [executor.exec_line(line, index=index) for index, line in enumerate(lines)]
    assert [r.run_info.status.value for r in results] == ["Completed"] * 3
    assert [(r.output["exact_match"], r.output["f1"], r.output["missed"], r.output["extra"]) for r in results] == [
        (0.0, 0.6667, ["java"], []), (1.0, 1.0, [], []), (0.0, 0.6667, [], ["tuesday"])]
    aggregation_inputs = {name: [r.aggregation_inputs[name] for r in results] for name in results[0].aggregation_inputs}
    inputs = {name: [line[name] for line in lines] for name in lines[0]}
    metrics = dict(executor.exec_aggregation(inputs, aggregation_inputs).metrics)
    assert metrics == {"exact_match": 0.3333, "precision": 0.8333, "recall": 0.8333, "f1": 0.7778,
                       "micro_precision": 0.6667, "micro_recall": 0.6667, "micro_f1": 0.6667}


# ---- the post-production judge ------------------------------------------------------------------------------

@pytest.mark.parametrize(("answer", "score", "acceptable", "rating"), [
    ("5", 5.0, 1.0, "5"),
    ("4.", 4.0, 1.0, "4"),
    ("2. The answer misses Rust.", 2.0, 0.0, "2"),
    ("Score: 3/5", 3.0, 0.0, "3"),
    ("10", None, 0.0, "unclear"),
    ("I cannot tell.", None, 0.0, "unclear"),
])
def test_the_judges_score_is_read(answer: str, score: float | None, acceptable: float, rating: str) -> None:
    assert JUDGE_SCORE.parse_score(answer) == {"score": score, "acceptable": acceptable, "rating": rating}


def test_the_judgements_aggregate_over_the_scored_answers() -> None:
    judgements = [{"score": 5.0, "acceptable": 1.0}, {"score": 2.0, "acceptable": 0.0},
                  {"score": None, "acceptable": 0.0}, {"score": 4.0, "acceptable": 1.0}]
    assert JUDGE_AGGREGATE.aggregate(judgements) == {"score": 3.6667, "acceptable": 0.5}


@pytest.mark.parametrize(("logged", "shown"), [
    (["Kenya", "Uganda"], '["Kenya", "Uganda"]'),
    ([], "[]"),
    ('["Tomás Novak"]', '["Tomás Novak"]'),  # logged as JSON text
    ("Lisbon", '["Lisbon"]'),
    (None, "[]"),
])
def test_the_logged_answer_is_shown_to_the_judge_as_a_json_array(logged: Any, shown: str) -> None:
    assert FORMAT.format_answer(logged) == shown


# ---- the data -----------------------------------------------------------------------------------------------

DATASETS = ["data/pr_data.jsonl", "data/data.jsonl"]


@pytest.mark.parametrize("name", DATASETS)
def test_every_ground_truth_entity_is_a_span_of_its_text(name: str) -> None:
    # The flow only returns spans of its input, so an entity that is not one could never be found.
    for row in read_jsonl(name):
        assert set(row) == {"text", "entity_type", "answer"}, row
        assert all(PARSE.ground([entity], row["text"]) == [entity] for entity in row["answer"]), row


def test_the_pr_lines_are_dev_lines_and_no_few_shot_example_is_in_the_data() -> None:
    pr, dev = read_jsonl("data/pr_data.jsonl"), read_jsonl("data/data.jsonl")
    assert (len(pr), len(dev)) == (10, 30) and all(row in dev for row in pr)
    prompt = (FLOWS / "experiment" / "extract_entities__variant_1.jinja2").read_text(encoding="utf-8")
    examples = re.findall(r"^Text: (.+)$", prompt, re.MULTILINE)
    assert len(examples) == 4 and examples[-1] == "{{text}}"
    assert not {row["text"] for row in dev + read_jsonl("data/production_log.jsonl")} & set(examples)


def test_the_production_log_has_the_columns_the_judge_reads() -> None:
    mapping = json.loads((USE_CASE / "configs/mapping_config.json").read_text())["evaluation"]["evaluation_post_prod"]
    columns = {re.fullmatch(r"\$\{data\.(\w+)\}", value).group(1) for value in mapping.values()}  # type: ignore[union-attr]
    for row in read_jsonl("data/production_log.jsonl"):
        assert columns <= set(row) and row["deployment"] in ("blue", "green"), row


def test_the_judges_calibration_set_is_new_text_labelled_both_ways() -> None:
    calibration = read_jsonl("flows/evaluation_post_prod/calibration.jsonl")
    assert len(calibration) == 24 and sum(row["human_label"] for row in calibration) == 13
    assert all(set(row) == {"text", "entity_type", "entities", "human_label"} for row in calibration)
    seen = {row["text"] for row in read_jsonl("data/data.jsonl") + read_jsonl("data/production_log.jsonl")}
    judge_prompt = (FLOWS / "evaluation_post_prod" / "judge_answer.jinja2").read_text(encoding="utf-8")
    assert not {row["text"] for row in calibration} & (seen | set(re.findall(r"^Text: (.+)$", judge_prompt, re.M)))
    # Every listed entity is a span of its text, as the standard flow's answers always are (grounding).
    assert all(PARSE.ground([entity], row["text"]) == [entity] for row in calibration for entity in row["entities"])
    verdict = json.loads((FLOWS / "evaluation_post_prod" / "calibration.json").read_text(encoding="utf-8"))
    assert verdict == {"verdict": "acceptable"}
