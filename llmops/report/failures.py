"""Failed lines grouped by cause, with the fix when the cause is known.

One error per line is too much to read and a count alone says nothing. A group is a cause (the first
line of the error with the per-line noise, such as request digests, ids and line numbers, taken out,
so that 10 replay misses are one group), how many lines it failed, one of them as an example, and
the fix. The CLI, summary.md and report.html all show these groups; this module is the only place
that knows causes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from llmops.report.model import EvaluationRun, ExperimentRun

if TYPE_CHECKING:
    from llmops.config.use_case import UseCase

MAX_CAUSE_CHARS = 400
RETRIED = "the next run retries them"


@dataclass(frozen=True)
class FailureContext:
    """What a fix names: the command's use case and env, and the requirements file of each flow."""

    use_case: str
    env: str
    requirements: Mapping[str, str] = field(default_factory=dict)  # flow folder name -> requirements.txt path

    @classmethod
    def of(cls, use_case: UseCase, env: str) -> FailureContext:
        flows = [use_case.standard_flow(env), *use_case.evaluation_flows(env)]
        post_prod = use_case.post_prod_flow(env)
        requirements = {  # relpath, not relative_to: a flow folder may lie outside the repository
            flow.name: Path(os.path.relpath(flow.folder / "requirements.txt", use_case.root)).as_posix()
            for flow in [*flows, *([post_prod] if post_prod else [])]
            if (flow.folder / "requirements.txt").is_file()
        }
        return cls(use_case.name, env, requirements)


@dataclass(frozen=True)
class FailedLine:
    run: str  # the run's variant label: "defaults", or "defaults.evaluation" for an evaluation run
    dataset: str
    index: int  # line index in the dataset
    error: str
    flow: str = ""  # flow folder name, to find its requirements.txt


@dataclass(frozen=True)
class FailureGroup:
    cause: str
    count: int
    example: FailedLine
    fix: str | None
    consequence: bool  # these lines were not run because other lines failed: fix those first

    @property
    def example_text(self) -> str:
        return example_text(self.example.run, self.example.dataset, self.example.index)


def example_text(run: str, dataset: str, index: int) -> str:
    return f"line {index} of {run} ({dataset})"


def group_failures(lines: Iterable[FailedLine], context: FailureContext) -> tuple[FailureGroup, ...]:
    """Groups by cause: most lines first, and lines failed only because others did last."""
    by_cause: dict[str, list[FailedLine]] = {}
    for line in lines:
        by_cause.setdefault(cause_of(line.error), []).append(line)
    groups = []
    for cause, members in by_cause.items():
        fix, consequence = _fix(cause, members[0], context)
        groups.append(FailureGroup(cause, len(members), members[0], fix, consequence))
    return tuple(sorted(groups, key=lambda g: (g.consequence, -g.count)))  # stable: first seen breaks ties


def failed_lines_of(runs: Sequence[ExperimentRun], evaluations: Sequence[EvaluationRun]) -> list[FailedLine]:
    """The failed lines of an experiment's runs, then of their evaluations."""
    failed = [FailedLine(run.variant_label, run.dataset, line.index, line.error, run.flow)
              for run in runs for line in run.lines if line.error is not None]
    by_id = {run.run_id: run for run in runs}
    for evaluation in evaluations:
        run = by_id[evaluation.experiment_run_id]
        failed += [FailedLine(f"{run.variant_label}.{evaluation.eval_flow}", evaluation.dataset, line.index, error,
                              evaluation.eval_flow)
                   for line, error in zip(run.lines, evaluation.line_errors, strict=False) if error is not None]
    return failed


def cause_of(error: str) -> str:
    """The error's first line, the same for every line that failed the same way."""
    first = next((text.strip() for text in error.splitlines() if text.strip()), "the line failed (no error text)")
    for pattern, replacement in _NOISE:
        first = pattern.sub(replacement, first)
    return first if len(first) <= MAX_CAUSE_CHARS else first[:MAX_CAUSE_CHARS - 1] + "…"


def fix_for(error: str, context: FailureContext) -> str | None:
    """The fix of an error that failed a whole run rather than lines (a flow that cannot load)."""
    return _fix(cause_of(error), FailedLine("", "", 0, error), context)[0]


# Per-line noise: what differs between lines failing for the same reason.
_NOISE: tuple[tuple[re.Pattern[str], str], ...] = (
    # Prompt flow's wrapping of the gateway's "retries exhausted" answer, whose own text says it all.
    (re.compile(r"^OpenAI API hits APIStatusError: Error code: 424 - (?=upstream )"), ""),
    (re.compile(r"\s*\[Error reference: [^\]]*\]\.?$"), ""),  # the openai client's link to its docs
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "…"),  # uuids
    (re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{12,}\b"), "…"),  # request digests, run ids, snapshot hashes
    (re.compile(r"\breq_[A-Za-z0-9]+\b"), "…"),  # provider request ids
    (re.compile(r"\b(line|index|row) \d+\b", re.I), r"\1 N"),
    (re.compile(r"\b\d+ attempts\b"), "N attempts"),
    (re.compile(r"\b\d+(?:\.\d+)? ?(ms|s|seconds)\b"), r"N \1"),
)


@dataclass(frozen=True)
class _Cause:
    pattern: re.Pattern[str]
    fix: Callable[[re.Match[str], FailedLine, FailureContext], str]
    consequence: bool = False


def _record(match: re.Match[str], line: FailedLine, context: FailureContext) -> str:
    return f"record the responses: llmops record -u {context.use_case} -e {context.env}"


def _install(match: re.Match[str], line: FailedLine, context: FailureContext) -> str:
    package = match.group(1)  # the top-level module: usually the package's name
    fix = f"install the package: pip install {package}"
    requirements = context.requirements.get(line.flow)
    return fix + (f", and list it in {requirements}" if requirements else "")


def _credentials(match: re.Match[str], line: FailedLine, context: FailureContext) -> str:
    named = _CONNECTION.search(line.error)
    if named is None:
        return ("the provider refused the key: correct api_key of the flow's connection in .env "
                "(the line named like the connection, e.g. aoai={...})")
    name = named.group(1)
    defined_in = named.group(2) or f"the line {name}={{...}} of .env"
    return f"the provider refused the key of connection '{name}': correct api_key in {defined_in}"


def _rate_limited(match: re.Match[str], line: FailedLine, context: FailureContext) -> str:
    return ("the provider is rate-limiting; the failed lines are retried on the next run; "
            "lower CONCURRENCY in llmops_config.json")


def _unavailable(match: re.Match[str], line: FailedLine, context: FailureContext) -> str:
    return ("the provider did not answer after the gateway's retries; the failed lines are retried on the next run; "
            "check that the provider is up")


def _follows(match: re.Match[str], line: FailedLine, context: FailureContext) -> str:
    return "these follow from the failed experiment lines: fix those and the next run evaluates them"


# The gateway's text: "for connection 'aoai' (.env line 3)"; the place is "(environment variable aoai)" for CI.
_CONNECTION = re.compile(r"\bconnection ['\"]([^'\"]+)['\"](?: \(([^)]+)\))?")
# Matched against the cause, whose per-line numbers already read N. The first match wins: a 424 whose
# last error was a 429 is rate limiting, not an unavailable provider.
_KNOWN: tuple[_Cause, ...] = (
    _Cause(re.compile(r"\breplay miss\b"), _record),
    _Cause(re.compile(r"\bNo module named '([^'.]+)"), _install),
    # The evaluate step's text for a line it skipped (steps/evaluate.py)
    _Cause(re.compile(r"\bthe experiment line failed\b"), _follows, consequence=True),
    _Cause(re.compile(r"\b(?:Error code:|HTTP) 40[13]\b|\b(?:Authentication|PermissionDenied)Error\b"), _credentials),
    _Cause(re.compile(r"\b(?:Error code:|HTTP) 429\b|\bRateLimitError\b"), _rate_limited),
    _Cause(re.compile(r"\bfailed after N attempts\b.*\bgateway retry bound\b"), _unavailable),
)


def _fix(cause: str, line: FailedLine, context: FailureContext) -> tuple[str | None, bool]:
    """The fix of the first known cause that matches, and whether the lines only follow other failures."""
    for known in _KNOWN:
        match = known.pattern.search(cause)
        if match:
            return known.fix(match, line, context), known.consequence
    return None, False
