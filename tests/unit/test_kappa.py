"""Cohen's kappa and its interval against textbook tables, and the standard error against the delta method
worked out numerically (the large-sample variance of Fleiss, Cohen & Everitt is the delta method's)."""

from __future__ import annotations

import math

import pytest

from llmops.config.judge_calibration import NO_VERDICT, category
from llmops.report.kappa import Z_95, cohen_kappa, kappa_of_table

# Wikipedia's "Cohen's kappa" example: 50 grant proposals read by A and B; both yes 20, A yes B no 5,
# A no B yes 10, both no 15. p_o = 0.7, p_e = 0.5, kappa = 0.4.
WIKIPEDIA_A = ["yes"] * 25 + ["no"] * 25
WIKIPEDIA_B = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
# Fleiss (1981, Statistical Methods for Rates and Proportions, 2nd ed., table 13.1): 100 patients, two
# psychiatrists, three diagnoses; p_o = 0.89, p_e = 0.66, kappa = 0.676.
FLEISS_TABLE = [[0.75, 0.01, 0.04], [0.05, 0.04, 0.01], [0.00, 0.00, 0.10]]


def delta_method_se(table: list[list[float]], n: int) -> float:
    """sqrt(Var) of kappa by the multinomial delta method, the gradient taken by central differences."""
    cells = [(i, j) for i in range(len(table)) for j in range(len(table))]

    def kappa(p: dict[tuple[int, int], float]) -> float:
        k = len(table)
        rows = [sum(p[(i, j)] for j in range(k)) for i in range(k)]
        cols = [sum(p[(i, j)] for i in range(k)) for j in range(k)]
        p_o, p_e = sum(p[(i, i)] for i in range(k)), sum(rows[i] * cols[i] for i in range(k))
        return (p_o - p_e) / (1 - p_e)

    base = {c: table[c[0]][c[1]] for c in cells}
    step = 1e-6
    gradient = {}
    for cell in cells:
        up, down = dict(base), dict(base)
        up[cell] += step
        down[cell] -= step
        gradient[cell] = (kappa(up) - kappa(down)) / (2 * step)
    mean = sum(base[c] * gradient[c] for c in cells)
    return math.sqrt(sum(base[c] * (gradient[c] - mean) ** 2 for c in cells) / n)


def test_the_wikipedia_example_gives_kappa_0_4_and_its_interval() -> None:
    estimate = cohen_kappa(WIKIPEDIA_A, WIKIPEDIA_B)
    assert estimate.kappa == pytest.approx(0.4)
    assert (estimate.observed_agreement, estimate.expected_agreement) == (pytest.approx(0.7), pytest.approx(0.5))
    assert estimate.n == 50 and estimate.categories == ("no", "yes")
    table = [[15 / 50, 10 / 50], [5 / 50, 20 / 50]]  # rows A (no, yes), columns B
    assert estimate.standard_error == pytest.approx(delta_method_se(table, 50), rel=1e-6)
    assert estimate.standard_error == pytest.approx(0.126996, abs=1e-6)
    assert (estimate.ci_low, estimate.ci_high) == (pytest.approx(0.4 - Z_95 * 0.126996, abs=1e-5),
                                                   pytest.approx(0.4 + Z_95 * 0.126996, abs=1e-5))


def test_fleiss_three_diagnoses_give_kappa_0_676() -> None:
    estimate = kappa_of_table(FLEISS_TABLE, 100)
    assert estimate.kappa == pytest.approx(0.23 / 0.34)
    assert round(estimate.kappa, 3) == 0.676
    assert estimate.standard_error == pytest.approx(delta_method_se(FLEISS_TABLE, 100), rel=1e-6)
    assert estimate.ci_low == pytest.approx(estimate.kappa - Z_95 * estimate.standard_error)


def test_the_interval_is_clipped_to_minus_one_and_one() -> None:
    near_perfect = cohen_kappa([1] * 5 + [0] * 4 + [1], [1] * 5 + [0] * 5)  # one disagreement in ten
    assert near_perfect.ci_high == 1.0 and near_perfect.ci_low is not None and near_perfect.ci_low < 1.0
    opposite = cohen_kappa([1, 0] * 3, [0, 1] * 3)
    assert opposite.kappa == pytest.approx(-1.0) and opposite.ci_low == -1.0


@pytest.mark.parametrize(("first", "second", "kappa", "note"), [
    ([1, 0, 1, 0], [1, 0, 1, 0], 1.0, "perfect agreement: the interval has no width at this sample size"),
    ([1, 1, 1], [1, 1, 1], None, "kappa is undefined: both raters gave every item the same single category"),
    ([], [], None, "no item was rated by both"),
])
def test_degenerate_tables_say_why(first: list[int], second: list[int], kappa: float | None, note: str) -> None:
    estimate = cohen_kappa(first, second)
    assert estimate.kappa == kappa and estimate.note == note


def test_raters_of_different_items_are_refused() -> None:
    with pytest.raises(ValueError, match="rated 2 and 3 items"):
        cohen_kappa([1, 0], [1, 0, 1])


@pytest.mark.parametrize(("value", "expected"), [
    (True, "1"), (False, "0"), (1, "1"), (1.0, "1"), ("1", "1"), (" 1.0 ", "1"), (0.5, "0.5"),
    ("Yes", "yes"), (" yes ", "yes"), (None, NO_VERDICT), ("nan", "nan"),
])
def test_labels_and_verdicts_are_compared_as_categories(value: object, expected: str) -> None:
    assert category(value) == expected
