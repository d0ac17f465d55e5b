"""The lines of a run worth reading first: those that failed, then those that scored lowest."""

from __future__ import annotations

from dataclasses import dataclass

from llmops.report.comparison import Comparison
from llmops.report.model import ExperimentRun, LineResult

DEFAULT_LIMIT = 5


@dataclass(frozen=True)
class WorstLine:
    line: LineResult
    score: float | None  # the line's value of `score_name`, None when it has none
    eval_error: str | None  # the evaluation flow's error on this line, if any


@dataclass(frozen=True)
class WorstLines:
    run: ExperimentRun
    score_name: str  # "<metric> (<eval flow>, <dataset>)", or "" when no metric has per-line values
    lines: tuple[WorstLine, ...]
    more: int  # failed or low-scoring lines left out by the limit


def worst_lines(comparison: Comparison, run: ExperimentRun, limit: int = DEFAULT_LIMIT) -> WorstLines:
    """Failed lines first, then lines scoring below the run's best line score, lowest first.

    The score is the primary metric when it has per-line values, else the first metric that does.
    Lines scoring as well as the run's best line are left out: they are not 'worst' in any sense.
    """
    scores: list[float | None] = [None] * len(run.lines)
    eval_errors: list[str | None] = [None] * len(run.lines)
    score_name = ""
    source = _score_source(comparison, run)
    if source is not None:
        score_name, scores, eval_errors = source
    present = [s for s in scores if s is not None]
    top = max(present) if present else None
    candidates = [
        WorstLine(line, score, eval_error)
        for line, score, eval_error in zip(run.lines, scores, eval_errors, strict=True)
        if line.failed or eval_error is not None or (score is not None and top is not None and score < top)
    ]
    # Experiment failures, then evaluation failures, then ascending score; dataset order breaks ties.
    candidates.sort(
        key=lambda w: (
            not w.line.failed,
            w.eval_error is None,
            w.score if w.score is not None else float("-inf"),
        )
    )
    return WorstLines(run, score_name, tuple(candidates[:limit]), max(0, len(candidates) - limit))


def _score_source(
    comparison: Comparison, run: ExperimentRun
) -> tuple[str, list[float | None], list[str | None]] | None:
    evaluations = [e for e in comparison.evaluations if e.experiment_run_id == run.run_id]
    preferred = [comparison.primary_metric] if comparison.primary_metric else []
    for metric in preferred + [name for e in evaluations for name in e.line_values]:
        for evaluation in evaluations:
            if metric in evaluation.line_values:
                name = f"{metric} ({evaluation.eval_flow}, {evaluation.dataset})"
                # line_errors may be empty when the evaluation had no errors to report.
                errors = list(evaluation.line_errors) + [None] * (
                    len(run.lines) - len(evaluation.line_errors)
                )
                return name, list(evaluation.line_values[metric]), errors[: len(run.lines)]
    return None
