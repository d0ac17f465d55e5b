"""Post-production evaluation: the endpoint's production log feeds post-prod-eval end to end; the unpaired
current-vs-prior comparison (Welch) checked by hand; web_classification's LLM-judged flow on replay."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmops.report.deployment_comparison import welch_difference
from llmops.report.stats import student_t_quantile
from llmops.serving import process
from llmops.serving.client import score
from tests.support.cli import llmops
from tests.support.mini_use_case import edit_json, write_use_case

pytestmark = pytest.mark.timeout(300)
REPO = Path(__file__).resolve().parents[2]

POST_PROD_DAG = """\
inputs:
  url: {type: string}
  category: {type: string}
outputs:
  consistent:
    type: double
    reference: ${judge.output}
nodes:
- name: judge
  type: python
  source: {type: code, path: judge.py}
  inputs: {url: "${inputs.url}", category: "${inputs.category}"}
- name: consistency
  type: python
  source: {type: code, path: consistency.py}
  inputs: {values: "${judge.output}"}
  aggregation: true
"""
JUDGE_PY = """\
from promptflow.core import tool


@tool
def judge(url: str, category: str) -> float:
    return 1.0 if category in ("App", "None") else 0.0
"""
CONSISTENCY_PY = """\
from promptflow.core import log_metric, tool


@tool
def consistency(values: list) -> float:
    value = sum(values) / len(values)
    log_metric("consistency", value)
    return value
"""


# -- Welch interval on the difference of means, by hand -----------------------------------------------

@pytest.mark.parametrize(("current", "prior", "mean", "df", "verdict"), [
    # equal n and variances: var/n = 1/3 each, se = sqrt(2/3), df = (2/3)^2 / (2 * (1/3)^2 / 2) = 4
    ([1, 2, 3], [4, 5, 6], -3.0, 4.0, "current worse"),
    # var/n = (5/3)/4 = 5/12 and (20/3)/4 = 5/3; df = (25/12)^2 / ((5/12)^2/3 + (5/3)^2/3) = 75/17
    ([1, 2, 3, 4], [2, 4, 6, 8], -2.5, 75 / 17, "not significant"),
    ([1, 1, 1, 0], [0, 0, 0, 1, None], 0.5, None, None),
])
def test_welch_difference(current: list[float], prior: list[float | None], mean: float, df: float | None,
                          verdict: str | None) -> None:
    result = welch_difference(current, prior)
    assert math.isclose(result.mean or 0.0, mean)
    a = [v for v in current if v is not None]
    b = [v for v in prior if v is not None]
    va = sum((v - sum(a) / len(a)) ** 2 for v in a) / (len(a) - 1) / len(a)
    vb = sum((v - sum(b) / len(b)) ** 2 for v in b) / (len(b) - 1) / len(b)
    expected_df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    assert math.isclose(result.df or 0.0, df if df is not None else expected_df)
    half = student_t_quantile(0.975, expected_df) * math.sqrt(va + vb)
    assert math.isclose(result.ci_low or 0.0, mean - half) and math.isclose(result.ci_high or 0.0, mean + half)
    if verdict:
        assert result.verdict == verdict


def test_welch_difference_textbook_value() -> None:
    # t(0.975, 4) = 2.776445 (tables); se = sqrt(2/3) = 0.816497 -> half width 2.266957
    result = welch_difference([1, 2, 3], [4, 5, 6])
    assert (round(result.ci_low or 0, 4), round(result.ci_high or 0, 4)) == (-5.267, -0.733)


@pytest.mark.parametrize(("current", "prior", "note"), [
    ([1, 1], [1, 1], "no variation in either deployment"),
    ([1], [1, 0], "fewer than 2 values in a deployment"),
    ([], [1, 0], "no values for current"),
    ([1, 0], [None], "no values for prior"),
])
def test_welch_difference_without_an_interval(current: list[float], prior: list[float | None], note: str) -> None:
    assert welch_difference(current, prior).note == note


# -- the production log feeds post-prod-eval end to end -------------------------------------------------


def add_post_prod_flow(repo: Path) -> None:
    folder = repo / "use_cases/mini"
    for name, text in {"flow.dag.yaml": POST_PROD_DAG, "judge.py": JUDGE_PY, "consistency.py": CONSISTENCY_PY}.items():
        (folder / "flows/post_prod").mkdir(parents=True, exist_ok=True)
        (folder / "flows/post_prod" / name).write_text(text)
    rows = [{"url": "https://apps.example.com/a", "category": "App", "deployment": "blue"},
            {"url": "https://example.com/b", "category": "Nothing", "deployment": "green"}]
    (folder / "data/production_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    edit_json(folder / "llmops_config.json",
              lambda d: d["envs"][1].update({"POST_PROD_EVALUATION_FLOW_PATH": "flows/post_prod"}))
    edit_json(folder / "configs/mapping_config.json", lambda d: d["evaluation"].update(
        {"post_prod": {"url": "${data.url}", "category": "${data.category}"}}))
    edit_json(folder / "configs/data_config.json", lambda d: d["datasets"].append(
        {"ENV_NAME": "dev", "DATA_PURPOSE": "production_log", "DATA_PATH": "data/production_log.jsonl",
         "DATASET_NAME": "mini_production_log"}))


def configure(repo: Path, current: str, current_share: str, prior: str, prior_share: str) -> None:
    edit_json(repo / "use_cases/mini/configs/deployment_config.json", lambda d: d["local_endpoint"][0].update({
        "CURRENT_DEPLOYMENT_NAME": current, "CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION": current_share,
        "PRIOR_DEPLOYMENT_NAME": prior, "PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION": prior_share}))


@pytest.fixture()
def repo(tmp_path: Path) -> Iterator[Path]:
    write_use_case(tmp_path)
    add_post_prod_flow(tmp_path)
    yield tmp_path
    process.stop(tmp_path / ".llmops", "mini")


def test_production_log_feeds_post_prod_eval(repo: Path) -> None:
    assert llmops(repo, "validate", "-u", "mini").code == 0
    configure(repo, "blue", "100", "", "")
    assert llmops(repo, "register-model", "-u", "mini", "-e", "dev").code == 0
    assert llmops(repo, "endpoint", "up", "-u", "mini", "-e", "dev", "--provider", "replay").code == 0
    assert llmops(repo, "deploy", "-u", "mini", "-e", "dev").code == 0
    classify = repo / "use_cases/mini/flows/standard/classify.py"
    classify.write_text(classify.read_text().replace('word = "App" if', 'word = "Application" if'))
    assert llmops(repo, "register-model", "-u", "mini", "-e", "dev").code == 0
    configure(repo, "green", "10", "blue", "90")
    deployed = llmops(repo, "deploy", "-u", "mini", "-e", "dev")
    assert deployed.code == 0, deployed.err
    info = process.running(repo / ".llmops", "mini")
    assert info is not None
    # v1 answers App/None (both consistent); v2 answers Application for app URLs (judged inconsistent). A user's
    # request that forces its deployment (the azureml-model-deployment header, no probe marker) is traffic.
    for deployment in ("blue", "green"):
        for i in range(10):
            url = f"https://apps.example.com/{i}" if i % 2 else f"https://example.com/{i}"
            assert score(info.scoring_url, {"url": url}, deployment=deployment).status == 200
    done = llmops(repo, "post-prod-eval", "-u", "mini", "-e", "dev")
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    # The 20 forced requests; the two smoke tests (blue and green) are probes, skipped.
    assert lines[0] == ("source: production log of endpoint mini (20 answered requests; 2 probes skipped: smoke "
                        "tests, test-endpoint, canary shadows)")
    assert lines[1].startswith("mini_dev_post_prod_mini_production_log_") and "20 lines, 0 failed" in lines[1]
    assert "consistency=0.750" in lines[1]  # (10 blue + 5 green consistent) / 20
    assert "consistent on blue: 1.000 [0.722, 1.000] (n=10)" in lines
    assert "consistent on green: 0.500 [0.237, 0.763] (n=10)" in lines
    assert "### Deployments: green (current) against blue (prior)" in lines
    report = Path(lines[-1].removeprefix("report: "))
    assert report.parent == repo / "reports/post_prod/mini/dev"
    comparison = json.loads((report / "deployment_comparison.json").read_text())["comparisons"][0]
    assert (comparison["metric"], comparison["current"]["n"], comparison["prior"]["n"]) == ("consistent", 10, 10)
    difference = comparison["difference"]
    assert math.isclose(difference["mean"], 5 / 10 - 1) and difference["verdict"] == "current worse"
    assert "### Deployments: green (current) against blue (prior)" in (report / "summary.md").read_text()
    assert {"results.csv", "metrics.csv", "report.html", "summary.json"} <= {p.name for p in report.iterdir()}
    # The experiment report's `latest` is untouched: deploys still read the best variant from it.
    assert not (repo / "reports/mini/dev").exists()
    # Unchanged log: the run is reused, not executed again.
    again = llmops(repo, "post-prod-eval", "-u", "mini", "-e", "dev")
    assert "(reused)" in again.out.splitlines()[1]


ONLY_PROBES = (
    "only probe requests were logged (4: smoke tests, test-endpoint, canary shadows), and post-prod-eval evaluates "
    "users' requests alone; send the endpoint real requests first, e.g. curl -s -H 'Content-Type: application/json' "
    "-d '<flow inputs as JSON>' <scoring url> (llmops endpoint status -u mini -e dev shows the URL)")


def test_smoke_tests_and_test_endpoint_are_probes_post_prod_eval_skips(repo: Path) -> None:
    configure(repo, "blue", "100", "", "")
    assert llmops(repo, "register-model", "-u", "mini", "-e", "dev").code == 0
    assert llmops(repo, "endpoint", "up", "-u", "mini", "-e", "dev", "--provider", "replay").code == 0
    assert llmops(repo, "deploy", "-u", "mini", "-e", "dev").code == 0  # its smoke test: sample-request.json
    tested = llmops(repo, "test-endpoint", "-u", "mini", "-e", "dev", "--lines", "2")  # sample-request.json + 2
    assert tested.code == 0, tested.err
    # Nothing but probes in the log: --log fails and says how to send real traffic ...
    only = llmops(repo, "post-prod-eval", "-u", "mini", "-e", "dev", "--log")
    assert only.code == 1 and only.err == (
        f"error: the production log of endpoint 'mini' has no request to evaluate yet: {ONLY_PROBES}\n")
    # ... and without --log the env's production_log dataset stands in, as for an empty log, saying why.
    fallback = llmops(repo, "post-prod-eval", "-u", "mini", "-e", "dev")
    assert fallback.code == 0, fallback.err
    assert fallback.out.splitlines()[0] == "source: dataset mini_production_log version 1"
    assert (f"the production log has no request to evaluate: {ONLY_PROBES}; reading dataset mini_production_log "
            "instead") in fallback.err
    info = process.running(repo / ".llmops", "mini")
    assert info is not None
    users = [f"https://apps.example.com/user-{i}" for i in range(3)]
    for url in users:
        assert score(info.scoring_url, {"url": url}).status == 200
    done = llmops(repo, "post-prod-eval", "-u", "mini", "-e", "dev")
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    assert lines[0] == ("source: production log of endpoint mini (3 answered requests; 4 probes skipped: smoke "
                        "tests, test-endpoint, canary shadows)")
    assert "3 lines, 0 failed" in lines[1]
    evaluated = list((repo / ".llmops/endpoints/mini/post_prod").glob("*.jsonl"))  # the registered dataset
    assert len(evaluated) == 1
    assert [json.loads(line)["url"] for line in evaluated[0].read_text().splitlines()] == users


def test_dataset_source_and_errors(repo: Path) -> None:
    done = llmops(repo, "post-prod-eval", "-u", "mini", "-e", "dev")  # no log yet: the production_log dataset
    assert done.code == 0, done.err
    assert done.out.splitlines()[0] == "source: dataset mini_production_log version 1"
    assert "consistent on blue: 1.000" in done.out and "consistent on green: 0.000" in done.out
    no_log = llmops(repo, "post-prod-eval", "-u", "mini", "-e", "dev", "--log")
    assert no_log.code == 1 and no_log.err == (
        "error: the production log of endpoint 'mini' has no request to evaluate yet: no answered request; send the "
        "endpoint real requests first, e.g. curl -s -H 'Content-Type: application/json' -d '<flow inputs as JSON>' "
        "<scoring url> (llmops endpoint status -u mini -e dev shows the URL)\n")
    no_flow = llmops(repo, "post-prod-eval", "-u", "mini", "-e", "pr")
    assert no_flow.code == 1 and no_flow.err == (
        "error: env 'pr' of use case 'mini' has no POST_PROD_EVALUATION_FLOW_PATH in llmops_config.json; add the "
        "post-production evaluation flow there\n")


def test_web_classification_post_prod_flow_replays(tmp_path: Path) -> None:
    shutil.copytree(REPO / "use_cases/web_classification", tmp_path / "use_cases/web_classification")
    done = llmops(tmp_path, "post-prod-eval", "-u", "web_classification", "-e", "dev", "--dataset",
                  "web_classification_production_log", "--provider", "replay", "--json")
    assert done.code == 0, done.err
    result = json.loads(done.out)
    assert result["metrics"] == {"consistency": 0.95}
    # Its LLM judge is pinned (no calibration set: no agreement), in the output and in the report.
    pin = {"flow": "evaluation_post_prod", "model": "gpt-35-turbo", "provider": "replay", "agreement": None,
           "stale": "", "prompt_sha256": hashlib.sha256(
               b"judge_consistency.jinja2\0" + hashlib.sha256(
                   (REPO / "use_cases/web_classification/flows/evaluation_post_prod/judge_consistency.jinja2")
                   .read_bytes()).digest()).hexdigest()}
    assert result["judges"] == [pin]
    report = json.loads((Path(result["report"]) / "summary.json").read_text(encoding="utf-8"))
    assert report["judges"]["pins"] == [pin]
    comparison = result["comparison"]["comparisons"][0]
    assert (comparison["current"]["deployment"], comparison["current"]["n"], comparison["current"]["mean"]) == (
        "green", 8, 0.875)
    assert (comparison["prior"]["deployment"], comparison["prior"]["n"], comparison["prior"]["mean"]) == (
        "blue", 12, 1.0)
    difference = comparison["difference"]
    assert (round(difference["ci_low"], 3), round(difference["ci_high"], 3), difference["verdict"]) == (
        -0.421, 0.171, "not significant")
