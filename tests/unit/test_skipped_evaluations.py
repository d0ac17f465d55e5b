"""A PR env whose data has no column an evaluation maps, with no test dataset linked, skips that evaluation (a note,
not an error), as the original template evaluates only where a test dataset is linked. A linked test dataset that
lacks the column stays an error. And an env whose only data is a production log judges it with its standard flow."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from llmops.config.problems import Problem
from llmops.config.use_case import load_use_case
from llmops.config.workspace import Workspace
from llmops.errors import ConfigError
from llmops.steps.validate import validate
from tests.support.mini_use_case import ROWS, edit_json, write_use_case

MC = "use_cases/mini/configs/mapping_config.json"
NOTE = ("evaluation 'eval' skipped for env 'pr': dataset 'mini_pr' has no column 'answer' (mapped as "
        "${data.answer}); link a test_data dataset with RELATED_EXP_DATASET to evaluate")


def without_answer(rows: list[dict[str, str]]) -> str:
    return "".join(json.dumps({"url": row["url"]}) + "\n" for row in rows)


def pr_data_without_answer(folder: Path) -> None:
    (folder / "data/pr.jsonl").write_text(without_answer(ROWS))


def linked_test_data_without_answer(folder: Path) -> None:
    (folder / "data/dev_test.jsonl").write_text(without_answer(ROWS))
    edit_json(folder / "configs/data_config.json", lambda d: d["datasets"][2].update(DATA_PATH="data/dev_test.jsonl"))


def answer_missing_on_one_pr_line(folder: Path) -> None:
    (folder / "data/pr.jsonl").write_text(without_answer(ROWS[:1]) + "".join(json.dumps(r) + "\n" for r in ROWS[1:]))


CASES: list[tuple[str, Callable[[Path], None], list[str], list[str]]] = [
    # (name, change, problems, notes)
    ("pr data has no ground truth", pr_data_without_answer, [], [f"{MC}: evaluation.eval: {NOTE}"]),
    ("linked test data has no ground truth", linked_test_data_without_answer,
     [f"{MC}: evaluation.eval.groundtruth: '${{data.answer}}': dataset 'mini_dev_test' (data/dev_test.jsonl) has no "
      "column 'answer' (columns: url)"], []),
    ("one pr line lacks it", answer_missing_on_one_pr_line,
     [f"{MC}: evaluation.eval.groundtruth: '${{data.answer}}': column 'answer' is missing in 1 of 4 lines of "
      "'data/pr.jsonl'"], []),
]


@pytest.mark.parametrize(("name", "change", "problems", "notes"), CASES, ids=[c[0] for c in CASES])
def test_missing_columns_skip_an_evaluation_only_where_no_test_data_is_linked(
        tmp_path: Path, name: str, change: Callable[[Path], None], problems: list[str], notes: list[str]) -> None:
    change(write_use_case(tmp_path))
    (check,) = validate(Workspace.find(tmp_path)).checks
    assert ([str(p) for p in check.problems], [str(n) for n in check.notes]) == (problems, notes)


def test_an_env_whose_only_data_is_a_production_log_judges_it_with_its_standard_flow(tmp_path: Path) -> None:
    folder = write_use_case(tmp_path)
    (folder / "data/log.jsonl").write_text("".join(json.dumps({"url": r["url"]}) + "\n" for r in ROWS))

    def add_env(config: dict) -> None:
        config["envs"].append({"ENV_NAME": "postprodeval", "STANDARD_FLOW_PATH": "flows/standard"})
    edit_json(folder / "llmops_config.json", add_env)
    edit_json(folder / "configs/data_config.json", lambda d: d["datasets"].append(
        {"ENV_NAME": "postprodeval", "DATA_PURPOSE": "post_production_eval_data", "DATA_PATH": "data/log.jsonl",
         "DATASET_NAME": "mini_log"}))
    use_case = load_use_case(Workspace.find(tmp_path), "mini")
    assert [use_case.judges_production_log(env) for env in ("pr", "dev", "postprodeval")] == [False, False, True]
    assert [d.DATASET_NAME for d in use_case.experiment_datasets("postprodeval")] == ["mini_log"]
    assert use_case.experiment_mapping("postprodeval") == ("experiment", {"url": "${data.url}"})

    # Its flow may be mapped on its own, under evaluation.<flow>, since `experiment` is every env's.
    edit_json(folder / "configs/mapping_config.json",
              lambda d: d["evaluation"].update(standard={"url": "${data.link}"}))
    with pytest.raises(ConfigError) as raised:
        load_use_case(Workspace.find(tmp_path), "mini")
    assert raised.value.problems == [Problem(MC, "evaluation.standard.url", "'${data.link}': dataset 'mini_log' "
                                             "(data/log.jsonl) has no column 'link' (columns: url)")]
