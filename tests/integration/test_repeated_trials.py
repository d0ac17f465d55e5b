"""TRIALS through the real CLI, gateway and prompt flow against a loopback provider that samples: each trial is
a run with its own LLM answers, trial 0 is the run (and cache key) a single-trial experiment made, the report
shows flaky lines and pass@k, and a rerun sends the provider nothing."""

from __future__ import annotations

import csv
import json
import threading
from collections import Counter
from pathlib import Path

import pytest

from tests.support.cli import llmops
from tests.support.llm_use_case import ClassifyingUpstream, write_llm_use_case
from tests.support.mini_use_case import edit_json

pytestmark = pytest.mark.timeout(300)

RUN = ("run", "-u", "mini", "-e", "pr", "--provider", "openai_compatible")
FLAKY_URL = "https://apps.example.com/c"  # line 2: its second answer is wrong


class SamplingUpstream(ClassifyingUpstream):
    """Classifies right, except the second time it is asked about FLAKY_URL (as a sampled answer may be)."""

    def __init__(self) -> None:
        super().__init__(down=False)
        self.asked: Counter[str] = Counter()
        self._count_lock = threading.Lock()

    def answer(self, path: str, headers: dict[str, str], raw_body: bytes) -> tuple[int, dict[str, str], bytes]:
        status, extra, body = super().answer(path, headers, raw_body)
        url = str(json.loads(raw_body)["messages"][-1]["content"]).strip()
        with self._count_lock:
            self.asked[url] += 1
            wrong = url == FLAKY_URL and self.asked[url] == 2
        if wrong:
            completion = json.loads(body)
            completion["choices"][0]["message"]["content"] = "None"
            body = json.dumps(completion).encode()
        return status, extra, body


def sampled(folder: Path) -> None:
    dag = folder / "flows/standard/flow.dag.yaml"
    dag.write_text(dag.read_text(encoding="utf-8").replace("temperature: 0,", "temperature: 0.7,"), encoding="utf-8")


def set_trials(folder: Path, trials: int) -> None:
    edit_json(folder / "llmops_config.json", lambda c: c["envs"][0].update(TRIALS=trials))


def test_trials_are_runs_of_their_own_reused_by_a_rerun(tmp_path: Path) -> None:
    with SamplingUpstream() as upstream:
        folder = write_llm_use_case(tmp_path, upstream)
        sampled(folder)
        single = llmops(tmp_path, *RUN)
        assert single.code == 0, single.err
        assert len(upstream.requests) == 4
        assert "LLM calls: 4 sent to the model, 0 answered from the cache, 0 replayed" in single.out
        first_run = next(line for line in single.out.splitlines() if line.startswith("mini_pr_defaults_mini_pr_"))

        set_trials(folder, 3)
        three = llmops(tmp_path, *RUN)
        assert three.code == 0, three.err
        # Trial 0 is the run made before, reused whole; trials 1 and 2 asked the provider 4 lines each.
        assert f"{first_run.split(':')[0]}: 4 lines, 0 failed (reused)" in three.out
        assert len(upstream.requests) == 12
        assert "LLM calls: 8 sent to the model" in three.out
        for trial in (1, 2):
            assert any(line.startswith(f"mini_pr_defaults_mini_pr_trial{trial}_") and "(ran 4 lines)" in line
                       for line in three.out.splitlines()), three.out
        assert ("trials defaults accuracy (eval, mini_pr): pass@3=0.750, pass^3=0.500, flaky lines 1 of 4: 2 (2/3)"
                in three.out)

        again = llmops(tmp_path, *RUN)
        assert again.code == 0, again.err
        assert len(upstream.requests) == 12  # nothing new reached the provider
        assert "LLM calls: 0 sent to the model, 0 answered from the cache, 0 replayed" in again.out
        runs = [line for line in again.out.splitlines() if line.startswith("mini_pr_")]
        assert len(runs) == 6 and all("(reused)" in line for line in runs)  # 3 trials x (experiment, evaluation)

    report = tmp_path / "reports/mini/pr/latest"
    summary = json.loads((report / "summary.json").read_text())
    trials = summary["trials"]
    assert trials["per_line"] == 3
    [variant] = trials["metrics"][0]["variants"]
    assert variant["flaky_lines"] == [{"line_index": 2, "trials": 3, "passes": 2}]
    # Line 3 is wrong in every trial (its answer is App, the classifier says None): 3 of 4 lines ever pass.
    assert [(e["k"], round(e["value"], 3)) for e in variant["pass_at_k"]] == [(1, 0.667), (2, 0.75), (3, 0.75)]
    assert [(e["k"], round(e["value"], 3)) for e in variant["pass_hat_k"]] == [(1, 0.667), (2, 0.583), (3, 0.5)]
    accuracy = summary["metrics"][0]["variants"][0]
    assert (accuracy["n"], accuracy["ci_method"], round(accuracy["value"], 3)) == (12, "wilson-clustered", 0.667)
    with (report / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted((int(r["line_index"]), int(r["trial"])) for r in rows) == [(i, t) for i in range(4) for t in range(3)]
    assert len({(r["run_id"], r["run_name"]) for r in rows}) == 3  # each row names its trial's run
    assert {r["run_name"][: -len("_123456")] for r in rows if r["trial"] == "2"} == {"mini_pr_defaults_mini_pr_trial2"}
    with (report / "line_trials.csv").open() as handle:
        lines = {int(r["line_index"]): (r["passes"], r["flaky"]) for r in csv.DictReader(handle)}
    assert lines == {0: ("3", "no"), 1: ("3", "no"), 2: ("2", "yes"), 3: ("0", "no")}
    with (report / "pass_at_k.csv").open() as handle:
        measures = [(r["measure"], r["k"], r["value"][:5], r["lines"]) for r in csv.DictReader(handle)]
    assert measures[2:] == [("pass@k", "3", "0.75", "4"), ("pass^k", "1", "0.666", "4"), ("pass^k", "2", "0.583", "4"),
                            ("pass^k", "3", "0.5", "4")]
    markdown = (report / "summary.md").read_text()
    assert "#### Repeated trials · 3 per line" in markdown
    assert "1 of 4: 2 (2/3)" in markdown
    assert "Repeated trials · 3 per line" in (report / "report.html").read_text()
