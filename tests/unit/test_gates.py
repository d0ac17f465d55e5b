"""Quality gates: parsing with exact messages, checks on the baseline and the best variant."""

from __future__ import annotations

from dataclasses import replace

import pytest

from llmops.errors import ConfigError
from llmops.report.comparison import compare
from llmops.report.gates import Gate, GateResult, evaluate_gates, failure_message, parse_gates
from llmops.report.model import EvaluationRun, ExperimentRun, LineResult

VALID_FORM = (
    'write \'<operator> <number>\' with operator one of >=, >, <=, <, == (for example "accuracy": ">= 0.6")'
)
Metrics = dict[
    str, list[float | None] | float
]  # a list: per-line values (mean = aggregate); a float: aggregate only


def experiment(
    variants: dict[str, Metrics], dataset: str = "test", eval_flow: str = "evaluation"
) -> tuple[list[ExperimentRun], list[EvaluationRun]]:
    runs, evaluations = [], []
    for label, metrics in variants.items():
        line_count = max((len(v) for v in metrics.values() if isinstance(v, list)), default=1)
        run = ExperimentRun(
            run_id=f"run-{label}-{dataset}",
            name=f"uc_pr_{label}_{dataset}_abc123",
            variant={"node": label},
            variant_label=label,
            is_baseline=label == "defaults",
            dataset=dataset,
            dataset_version=1,
            lines=tuple(LineResult(i, {"q": f"q{i}"}, {"a": "x"}, None) for i in range(line_count)),
            usage=None,
        )
        runs.append(run)
        aggregates = {
            name: (
                sum(v for v in values if v is not None) / len(values) if isinstance(values, list) else values
            )
            for name, values in metrics.items()
        }
        line_values = {name: tuple(v) for name, v in metrics.items() if isinstance(v, list)}
        evaluations.append(
            EvaluationRun(
                eval_flow, f"eval-{label}-{dataset}", run.run_id, dataset, aggregates, line_values, ()
            )
        )
    return runs, evaluations


def check(gates: dict[str, str], runs, evaluations) -> tuple[GateResult, ...]:
    parsed = parse_gates(gates)
    return evaluate_gates(parsed, compare(runs, evaluations, parsed[0].metric if parsed else None))


@pytest.mark.parametrize(
    ("expression", "gate"),
    [
        (">= 0.6", Gate("accuracy", ">=", 0.6)),
        (">0.5", Gate("accuracy", ">", 0.5)),
        ("<= 1e-3", Gate("accuracy", "<=", 0.001)),
        ("< -2", Gate("accuracy", "<", -2.0)),
        ("== 1", Gate("accuracy", "==", 1.0)),
        ("  >=   .75  ", Gate("accuracy", ">=", 0.75)),
    ],
)
def test_parse_valid_expressions(expression: str, gate: Gate) -> None:
    assert parse_gates({"accuracy": expression}) == (gate,)


@pytest.mark.parametrize(
    ("expression", "shown"),
    [
        ("=> 0.6", "'=> 0.6'"),
        (">= abc", "'>= abc'"),
        ("0.6", "'0.6'"),
        (">= 0.6 and < 1", "'>= 0.6 and < 1'"),
        ("", "''"),
        ("!= 1", "'!= 1'"),
        (0.6, "0.6"),
        (None, "None"),
    ],
)
def test_parse_refuses_bad_expressions_naming_metric_and_value(expression: object, shown: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_gates({"accuracy": expression})
    assert str(error.value) == f"llmops_config.json: gates.accuracy: {shown} is not a gate; {VALID_FORM}"


def test_parse_reports_every_bad_gate_at_once_under_the_given_key_path() -> None:
    where = "use_cases/web_classification/llmops_config.json: pr.gates"
    with pytest.raises(ConfigError) as error:
        parse_gates({"accuracy": ">= 0.6", "f1": "> x", "": ">= 1", "latency": "fast"}, where=where)
    assert error.value.problems == [
        f"{where}.f1: '> x' is not a gate; {VALID_FORM}",
        f"{where}: '' is not a metric name; use a name an evaluation flow logs",
        f"{where}.latency: 'fast' is not a gate; {VALID_FORM}",
    ]


@pytest.mark.parametrize(
    ("operator", "threshold", "value", "passes"),
    [
        (">=", 0.6, 0.6, True),
        (">=", 0.6, 0.59, False),
        (">", 0.6, 0.6, False),
        (">", 0.6, 0.61, True),
        ("<=", 100.0, 100.0, True),
        ("<", 100.0, 100.0, False),
        ("==", 0.3, 0.1 + 0.2, True),  # 0.30000000000000004: equal up to float rounding
        ("==", 0.3, 0.31, False),
        (">=", 0.0, None, False),  # a missing value never passes
    ],
)
def test_gate_comparison(operator: str, threshold: float, value: float | None, passes: bool) -> None:
    assert Gate("m", operator, threshold).passes(value) is passes


def test_gates_check_the_baseline_and_the_best_variant() -> None:
    runs, evaluations = experiment(
        {
            "defaults": {"accuracy": [1.0, 0.0, 1.0, 0.0]},  # 0.5
            "a.v1": {"accuracy": [1.0, 1.0, 1.0, 0.0]},  # 0.75, the best
            "a.v2": {"accuracy": [0.0, 0.0, 1.0, 0.0]},  # 0.25, never checked
        }
    )
    results = check({"accuracy": ">= 0.6"}, runs, evaluations)
    assert results == (
        GateResult("accuracy", "defaults", 0.5, 0.6, False, ">=", "baseline", "evaluation", "test"),
        GateResult("accuracy", "a.v1", 0.75, 0.6, True, ">=", "best", "evaluation", "test"),
    )
    assert failure_message(results) == (
        "1 of 2 quality gate checks failed:\n"
        "  accuracy of variant 'defaults' (baseline; evaluation, dataset 'test'): 0.5, needs >= 0.6\n"
        "Improve the flow or its prompts, or change the gates in llmops_config.json if a threshold is wrong."
    )


def test_a_tie_for_best_goes_to_the_baseline() -> None:
    runs, evaluations = experiment(
        {
            "defaults": {"accuracy": [1.0, 0.0]},
            "a.v1": {"accuracy": [0.0, 1.0]},
            "a.v2": {"accuracy": [0.0, 0.0]},
        }
    )
    results = check({"accuracy": "> 0.4"}, runs, evaluations)
    assert [(r.variant_label, r.role, r.passed) for r in results] == [("defaults", "baseline, best", True)]
    assert failure_message(results) is None


def test_best_is_decided_by_the_first_gate_metric() -> None:
    runs, evaluations = experiment(
        {
            "defaults": {"accuracy": [1.0, 1.0], "f1": 0.4},
            "a.v1": {"accuracy": [1.0, 0.0], "f1": 0.7},  # best on f1 although worse on accuracy
        }
    )
    results = check({"f1": ">= 0.5", "accuracy": ">= 0.6"}, runs, evaluations)
    assert [(r.metric, r.variant_label, r.role, r.value, r.passed) for r in results] == [
        ("f1", "defaults", "baseline", 0.4, False),
        ("f1", "a.v1", "best", 0.7, True),
        ("accuracy", "defaults", "baseline", 1.0, True),
        ("accuracy", "a.v1", "best", 0.5, False),
    ]


def test_each_dataset_is_checked_with_its_own_best_variant() -> None:
    first = experiment(
        {"defaults": {"accuracy": [1.0, 0.0]}, "a.v1": {"accuracy": [1.0, 1.0]}}, dataset="web"
    )
    second = experiment(
        {"defaults": {"accuracy": [1.0, 1.0]}, "a.v1": {"accuracy": [0.0, 1.0]}}, dataset="adv"
    )
    results = check({"accuracy": ">= 0.75"}, first[0] + second[0], first[1] + second[1])
    assert [(r.dataset, r.variant_label, r.role, r.passed) for r in results] == [
        ("web", "defaults", "baseline", False),
        ("web", "a.v1", "best", True),
        ("adv", "defaults", "baseline, best", True),
    ]


def test_a_gate_on_a_metric_no_flow_reports_fails_loudly() -> None:
    runs, evaluations = experiment({"defaults": {"accuracy": [1.0]}, "a.v1": {"accuracy": [0.0]}})
    results = check({"acuracy": ">= 0.6"}, runs, evaluations)
    assert results == (
        GateResult(
            "acuracy",
            "",
            None,
            0.6,
            False,
            ">=",
            "",
            "",
            "",
            "no evaluation flow reports 'acuracy' (reported: accuracy)",
        ),
    )
    assert failure_message(results) == (
        "1 of 1 quality gate checks failed:\n"
        "  acuracy >= 0.6: no evaluation flow reports 'acuracy' (reported: accuracy)\n"
        "Improve the flow or its prompts, or change the gates in llmops_config.json if a threshold is wrong."
    )


def test_a_missing_value_fails_its_gate() -> None:
    runs, evaluations = experiment({"defaults": {"accuracy": float("nan")}, "a.v1": {"accuracy": 0.9}})
    results = check({"accuracy": ">= 0.6"}, runs, evaluations)
    assert [(r.variant_label, r.value, r.passed) for r in results] == [
        ("defaults", None, False),
        ("a.v1", 0.9, True),
    ]
    assert (
        "accuracy of variant 'defaults' (baseline; evaluation, dataset 'test'): "
        "no value ('evaluation' logged none for this variant), needs >= 0.6"
    ) in (failure_message(results) or "")


def test_without_a_baseline_run_only_the_best_is_checked() -> None:
    runs, evaluations = experiment({"a.v1": {"accuracy": [1.0, 0.0]}, "a.v2": {"accuracy": [1.0, 1.0]}})
    results = check({"accuracy": ">= 0.6"}, runs, evaluations)
    assert [(r.variant_label, r.role, r.passed) for r in results] == [("a.v2", "best", True)]


def test_no_gates_means_nothing_to_fail() -> None:
    runs, evaluations = experiment({"defaults": {"accuracy": [0.0]}})
    assert check({}, runs, evaluations) == ()
    assert failure_message(()) is None


def failed_everywhere(runs, evaluations, labels: set[str]):
    """The evaluations of these variants as an all-failed run leaves them: every line an error, no metric."""
    return [replace(e, metrics={}, line_values={}, line_errors=("not evaluated: the experiment line failed",))
            if e.experiment_run_id in {r.run_id for r in runs if r.variant_label in labels} else e
            for e in evaluations]


def test_a_variant_whose_every_line_failed_has_no_value_and_says_why() -> None:
    runs, evaluations = experiment({"defaults": {"accuracy": [1.0]}, "a.v1": {"accuracy": [1.0]}})
    results = check({"accuracy": ">= 0.6"}, runs, failed_everywhere(runs, evaluations, {"defaults"}))
    assert [(r.variant_label, r.value_text, r.passed) for r in results] == [
        ("defaults", "no value (every line failed)", False),
        ("a.v1", "1", True),
    ]
    assert failure_message(results) == (
        "1 of 2 quality gate checks failed:\n"
        "  accuracy of variant 'defaults' (baseline; evaluation, dataset 'test'): no value (every line failed), "
        "needs >= 0.6\n"
        "Improve the flow or its prompts, or change the gates in llmops_config.json if a threshold is wrong."
    )


def test_when_every_line_of_every_variant_failed_the_gate_names_the_silent_flows() -> None:
    runs, evaluations = experiment({"defaults": {"accuracy": [1.0]}, "a.v1": {"accuracy": [1.0]}})
    adv = [replace(e, eval_flow="evaluation_adv", run_id=e.run_id + "-adv") for e in evaluations]
    results = check({"accuracy": ">= 0.6"}, runs, failed_everywhere(runs, [*evaluations, *adv], {"defaults", "a.v1"}))
    assert results == (
        GateResult("accuracy", "", None, 0.6, False, ">=", "", "evaluation, evaluation_adv", "test",
                   "no value (every line failed)"),
    )
    assert (results[0].checked_on, results[0].value_text) == ("evaluation, evaluation_adv",
                                                              "no value (every line failed)")
    assert failure_message(results) == (
        "1 of 1 quality gate checks failed:\n"
        "  accuracy >= 0.6 on evaluation, evaluation_adv: no value (every line failed)\n"
        "Improve the flow or its prompts, or change the gates in llmops_config.json if a threshold is wrong."
    )
