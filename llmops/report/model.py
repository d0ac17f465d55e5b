"""What a report is made of: the results of an experiment and of its evaluations.

The steps that run prompt flow build these objects; everything in `llmops.report` only reads them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

BASELINE_LABEL = "defaults"


@dataclass(frozen=True)
class LineResult:
    """One line of one experiment run."""

    index: int  # line number in the dataset (0-based)
    inputs: dict[str, Any]
    outputs: dict[str, Any]  # {} when the line failed
    error: str | None  # None when the line succeeded
    trial: int = 0  # the repeated trial it came from (TRIALS in llmops_config.json)

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass(frozen=True)
class UsageTotals:
    """LLM accounting of one run, as the gateway counted it."""

    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    cache_hits: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class ExperimentRun:
    """One bulk run of the standard flow: one prompt-variant combination over one dataset."""

    run_id: str  # unique, content-addressed; goes on every results.csv row of this run
    name: str  # <use_case>_<env>_<variant label>_<dataset>_<hash6>
    variant: dict[str, str]  # node -> variant id, for every node that has variants
    variant_label: str  # "defaults" for the baseline, else "node.variant_1" or "a.v1+b.v2"
    is_baseline: bool  # the all-defaults combination
    dataset: str
    dataset_version: int
    lines: tuple[LineResult, ...]
    usage: UsageTotals | None
    flow: str = ""  # the standard flow's folder name, when known: a failure's fix may name its requirements.txt
    trial: int = 0  # the repeated trial this run is; a run merged from trials (trial_runs.py) says 0
    # With repeated trials: each trial's run id, by trial (run_id is trial 0's), and `lines` holds every trial's
    # lines, several per line index.
    trial_run_ids: tuple[str, ...] = ()
    trial_run_names: tuple[str, ...] = ()  # likewise, each trial's run name

    @property
    def trials(self) -> int:
        """Trials per line: 1 unless the run was merged from repeated trials."""
        return max(1, len(self.trial_run_ids))

    @property
    def failed_lines(self) -> int:
        return sum(1 for line in self.lines if line.failed)


@dataclass(frozen=True)
class EvaluationRun:
    """One evaluation flow run over one experiment run."""

    eval_flow: str  # evaluation flow folder name, e.g. "evaluation"
    run_id: str  # id of this evaluation run
    experiment_run_id: str  # the ExperimentRun it evaluated
    dataset: str  # the test dataset whose ${data.*} columns were used
    metrics: dict[str, float]  # aggregated metrics (prompt flow log_metric)
    # Per-line numeric outputs by output name, aligned with the experiment run's lines
    # (None = missing or failed). A metric with a key here gets intervals and paired deltas.
    line_values: dict[str, tuple[float | None, ...]]
    line_errors: tuple[str | None, ...]

    def metric(self, name: str) -> float | None:
        """The aggregated value, with NaN (what prompt flow logs for an empty mean) read as missing."""
        value = self.metrics.get(name)
        if value is None or not math.isfinite(float(value)):
            return None
        return float(value)

    @property
    def failed_lines(self) -> int:
        return sum(1 for error in self.line_errors if error is not None)

    @property
    def every_line_failed(self) -> bool:
        """No line has a value to aggregate, so the flow logged no metric."""
        return bool(self.line_errors) and all(error is not None for error in self.line_errors)
