"""Current against prior deployment on production traffic: unpaired, so a Welch t interval on the difference.

Two deployments answer different requests, so their lines cannot be paired as variants of one
experiment are. The difference of means, current - prior, gets a 95% Welch interval:
se = sqrt(s1^2/n1 + s2^2/n2), df = se^4 / ((s1^2/n1)^2/(n1-1) + (s2^2/n2)^2/(n2-1)) (Welch-Satterthwaite),
difference +/- t(0.975, df) * se. An interval that contains 0 is not significant.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.report.stats import CONFIDENCE, Estimate, estimate_mean, present, student_t_quantile

METHOD_NOTE = ("Deployments answer different requests, so they are compared unpaired: difference of means "
               "(current - prior) with a 95% Welch t interval (Welch-Satterthwaite degrees of freedom); each "
               "deployment's mean has a Wilson (0/1 values) or Student t interval.")


@dataclass(frozen=True)
class WelchDifference:
    mean: float | None  # current - prior
    ci_low: float | None
    ci_high: float | None
    df: float | None
    note: str = ""

    @property
    def significant(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None and (self.ci_low > 0 or self.ci_high < 0)

    @property
    def verdict(self) -> str:
        if not self.significant or self.mean is None:
            return "not significant"
        return "current better" if self.mean > 0 else "current worse"


def welch_difference(current: Sequence[float | None], prior: Sequence[float | None],
                     level: float = CONFIDENCE) -> WelchDifference:
    a, b = present(current), present(prior)
    if not a or not b:
        return WelchDifference(None, None, None, None, "no values for " + ("current" if not a else "prior"))
    difference = math.fsum(a) / len(a) - math.fsum(b) / len(b)
    if len(a) < 2 or len(b) < 2:
        return WelchDifference(difference, None, None, None, "fewer than 2 values in a deployment")
    var_a = _sample_variance(a) / len(a)
    var_b = _sample_variance(b) / len(b)
    se = math.sqrt(var_a + var_b)
    if se == 0.0:
        return WelchDifference(difference, difference, difference, None, "no variation in either deployment")
    df = (var_a + var_b) ** 2 / (var_a**2 / (len(a) - 1) + var_b**2 / (len(b) - 1))
    half_width = student_t_quantile(0.5 + level / 2.0, df) * se
    return WelchDifference(difference, difference - half_width, difference + half_width, df)


def _sample_variance(values: list[float]) -> float:
    mean = math.fsum(values) / len(values)
    return math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)


@dataclass(frozen=True)
class DeploymentComparison:
    metric: str
    current: str
    prior: str
    current_estimate: Estimate
    prior_estimate: Estimate
    difference: WelchDifference


def compare_deployments(values: Mapping[str, Mapping[str, Sequence[float | None]]], current: str,
                        prior: str) -> list[DeploymentComparison]:
    """`values`: metric -> deployment -> per-line values. One comparison per metric."""
    return [DeploymentComparison(metric, current, prior, estimate_mean(by.get(current, ())),
                                 estimate_mean(by.get(prior, ())),
                                 welch_difference(by.get(current, ()), by.get(prior, ())))
            for metric, by in values.items()]


def _number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def _estimate(estimate: Estimate) -> dict[str, Any]:
    return {"mean": _number(estimate.mean), "n": estimate.n, "ci_low": _number(estimate.ci_low),
            "ci_high": _number(estimate.ci_high), "ci_method": estimate.method, "note": estimate.note}


def to_json(comparisons: Sequence[DeploymentComparison]) -> dict[str, Any]:
    return {"method": METHOD_NOTE, "comparisons": [
        {"metric": c.metric, "current": {"deployment": c.current, **_estimate(c.current_estimate)},
         "prior": {"deployment": c.prior, **_estimate(c.prior_estimate)},
         "difference": {"mean": _number(c.difference.mean), "ci_low": _number(c.difference.ci_low),
                        "ci_high": _number(c.difference.ci_high), "df": _number(c.difference.df),
                        "significant": c.difference.significant, "verdict": c.difference.verdict,
                        "note": c.difference.note}}
        for c in comparisons]}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _cell(estimate: Estimate) -> str:
    if estimate.mean is None:
        return "no values"
    interval = f" [{_fmt(estimate.ci_low)}, {_fmt(estimate.ci_high)}]" if estimate.has_interval else ""
    return f"{_fmt(estimate.mean)}{interval} (n={estimate.n})"


def render_markdown(comparisons: Sequence[DeploymentComparison]) -> str:
    if not comparisons:
        return ""
    first = comparisons[0]
    lines = [f"### Deployments: {first.current} (current) against {first.prior} (prior)", "",
             f"| metric | {first.current} | {first.prior} | difference (95% Welch) | verdict |",
             "|---|---|---|---|---|"]
    for c in comparisons:
        d = c.difference
        interval = f" [{_fmt(d.ci_low)}, {_fmt(d.ci_high)}]" if d.ci_low is not None else ""
        note = f" ({d.note})" if d.note else ""
        lines.append(f"| {c.metric} | {_cell(c.current_estimate)} | {_cell(c.prior_estimate)} | "
                     f"{_fmt(d.mean)}{interval}{note} | {d.verdict} |")
    return "\n".join([*lines, "", METHOD_NOTE, ""])


def write_deployment_comparison(folder: Path, comparisons: Sequence[DeploymentComparison]) -> Path:
    """deployment_comparison.json in the report folder, and its table appended to summary.md."""
    path = folder / "deployment_comparison.json"
    path.write_text(json.dumps(to_json(comparisons), indent=2) + "\n", encoding="utf-8")
    summary_md = folder / "summary.md"
    if summary_md.is_file() and comparisons:
        with summary_md.open("a", encoding="utf-8") as handle:
            handle.write("\n" + render_markdown(comparisons))
    return path
