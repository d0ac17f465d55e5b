"""Comparisons: grouping, pairing by dataset line, aggregate-only metrics and refused inputs."""

from __future__ import annotations

import logging

import pytest

from llmops.errors import NotFoundError, StepFailed
from llmops.report.comparison import compare
from llmops.report.model import EvaluationRun, ExperimentRun, LineResult


def run(label: str, indexes: list[int], dataset: str = "test", run_id: str = "") -> ExperimentRun:
    return ExperimentRun(
        run_id=run_id or f"run-{label}",
        name=f"uc_pr_{label}_{dataset}_abc123",
        variant={"node": label},
        variant_label=label,
        is_baseline=label == "defaults",
        dataset=dataset,
        dataset_version=2,
        lines=tuple(LineResult(i, {"q": f"q{i}"}, {"a": "x"}, None) for i in indexes),
        usage=None,
    )


def evaluation(
    of: ExperimentRun,
    metrics: dict[str, float],
    line_values: dict[str, tuple[float | None, ...]],
    eval_flow: str = "evaluation",
) -> EvaluationRun:
    return EvaluationRun(
        eval_flow, f"eval-{of.variant_label}", of.run_id, of.dataset, metrics, line_values, ()
    )


def test_lines_are_paired_by_dataset_index_not_by_position() -> None:
    baseline = run("defaults", [0, 1, 2, 3])
    variant = run("a.v1", [3, 2, 1])  # another order, and line 0 is absent
    comparison = compare(
        [variant, baseline],
        [
            evaluation(variant, {"accuracy": 1.0}, {"accuracy": (1.0, 1.0, 1.0)}),
            evaluation(baseline, {"accuracy": 0.75}, {"accuracy": (1.0, 0.0, 1.0, 1.0)}),
        ],
    )
    (group,) = comparison.metrics
    assert [f.label for f in group.variants] == ["defaults", "a.v1"]  # the baseline first
    delta = group.variants[1].delta
    assert delta is not None
    # pairs by index: 1 -> (0, 1), 2 -> (1, 1), 3 -> (1, 1): d = [1, 0, 0]
    assert (delta.n_pairs, delta.mean, delta.mcnemar_p) == (3, pytest.approx(1 / 3), 1.0)
    assert group.variants[0].delta is None


def test_aggregate_only_metric_has_no_interval_and_says_why() -> None:
    baseline, variant = run("defaults", [0, 1]), run("a.v1", [0, 1])
    comparison = compare(
        [baseline, variant],
        [
            evaluation(baseline, {"macro_f1": 0.5}, {}),
            evaluation(variant, {"macro_f1": 0.625}, {}),
        ],
    )
    (group,) = comparison.metrics
    assert group.has_line_values is False
    estimate = group.variants[1].estimate
    assert (estimate.mean, estimate.ci_low, estimate.ci_high, estimate.note) == (
        0.625,
        None,
        None,
        "no per-line values",
    )
    delta = group.variants[1].delta
    assert delta is not None
    assert (delta.mean, delta.ci_low, delta.significant, delta.note) == (
        0.125,
        None,
        False,
        "no per-line values",
    )


def test_groups_follow_eval_flow_then_dataset_and_the_primary_metric_defaults_to_the_first() -> None:
    web, adv = run("defaults", [0], "web"), run("defaults", [0], "adv", run_id="run-defaults-adv")
    comparison = compare(
        [web, adv],
        [
            evaluation(web, {"accuracy": 1.0, "f1": 1.0}, {"accuracy": (1.0,)}),
            EvaluationRun("evaluation", "e2", adv.run_id, "adv", {"accuracy": 0.0}, {"accuracy": (0.0,)}, ()),
            EvaluationRun("groundedness", "e3", web.run_id, "web", {"score": 4.0}, {}, ()),
        ],
    )
    assert [(m.eval_flow, m.dataset, m.metric) for m in comparison.metrics] == [
        ("evaluation", "web", "accuracy"),
        ("evaluation", "web", "f1"),
        ("evaluation", "adv", "accuracy"),
        ("groundedness", "web", "score"),
    ]
    assert comparison.primary_metric == "accuracy"
    assert comparison.datasets == ("web", "adv")
    assert comparison.best == {"web": "defaults", "adv": "defaults"}


def test_an_aggregate_that_is_not_the_mean_of_its_lines_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    baseline = run("defaults", [0, 1])
    with caplog.at_level(logging.WARNING, logger="llmops.report.comparison"):
        compare([baseline], [evaluation(baseline, {"accuracy": 85.0}, {"accuracy": (1.0, 0.0)})])
    assert caplog.messages == [
        "evaluation run 'eval-defaults': aggregated accuracy = 85.0 but the mean of its line values is 0.5; "
        "the interval is about the line values"
    ]


@pytest.mark.parametrize(("aggregate", "line_values", "logged"), [
    (0.9388, (1.0,) * 46 + (0.0,) * 3, False),  # 46/49 = 0.938775..., rounded to 4 decimals by the flow
    (0.94, (1.0,) * 46 + (0.0,) * 3, False),
    (0.9387, (1.0,) * 46 + (0.0,) * 3, True),  # not a rounding of the mean
    (1.0, (1.0,) * 24 + (0.0,), True),  # 0.96: a whole number is not a rounded mean
])
def test_a_rounded_aggregate_is_not_a_mismatch(caplog: pytest.LogCaptureFixture, aggregate: float,
                                                line_values: tuple[float, ...], logged: bool) -> None:
    baseline = run("defaults", [0] * len(line_values))
    with caplog.at_level(logging.WARNING, logger="llmops.report.comparison"):
        compare([baseline], [evaluation(baseline, {"accuracy": aggregate}, {"accuracy": line_values})])
    assert bool(caplog.messages) is logged


def test_an_evaluation_of_an_unknown_run_is_refused() -> None:
    baseline = run("defaults", [0])
    stray = EvaluationRun("evaluation", "eval-9", "run-gone", "test", {"accuracy": 1.0}, {}, ())
    with pytest.raises(NotFoundError) as error:
        compare([baseline], [stray])
    assert str(error.value) == (
        "unknown experiment run 'run-gone'; valid: run-defaults. "
        "Evaluation run 'eval-9' must point at one of the runs passed to the report"
    )


def test_two_results_for_one_variant_in_one_group_are_refused() -> None:
    baseline = run("defaults", [0])
    first = evaluation(baseline, {"accuracy": 1.0}, {})
    second = EvaluationRun("evaluation", "eval-again", baseline.run_id, "test", {"accuracy": 1.0}, {}, ())
    with pytest.raises(StepFailed) as error:
        compare([baseline], [first, second])
    assert str(error.value) == (
        "evaluation flow 'evaluation' on dataset 'test' has two results for variant 'defaults' "
        "(evaluation runs 'eval-defaults' and 'eval-again'); pass one evaluation per experiment run"
    )


def test_line_values_not_aligned_with_the_run_are_refused() -> None:
    baseline = run("defaults", [0, 1, 2])
    with pytest.raises(StepFailed) as error:
        compare([baseline], [evaluation(baseline, {"accuracy": 1.0}, {"accuracy": (1.0, 1.0)})])
    assert str(error.value) == (
        "evaluation run 'eval-defaults': line values of 'accuracy' have 2 entries but experiment run "
        "'run-defaults' has 3 lines; align line values with the experiment run's lines "
        "(None for a missing value)"
    )
