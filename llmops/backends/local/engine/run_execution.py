"""Execute content-addressed runs on this machine: reuse a run when every line succeeded, else resume it:
run the lines never run (interrupted) and the failed ones again (a provider outage, a replay miss).

Shared by the experiment, evaluation and post-production steps: they differ in what they feed a
flow, not in how a run is executed, stored and resumed. Runs and their lines are kept through the
RunRegistry protocol, not in the local database directly.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.backends.local.disk_full import full_disk_named
from llmops.backends.local.engine.flow_runner import LineBatch, run_batches
from llmops.backends.local.engine.line_runner import LineRunner
from llmops.backends.local.engine.prepared_flow import prepare
from llmops.backends.local.engine.promptflow_env import configure_promptflow
from llmops.backends.local.engine.run_lock import holding_runs
from llmops.backends.local.engine.snapshot import materialize
from llmops.backends.protocols import FlowSession, LineSink, RunRegistry
from llmops.backends.types import (
    COMPLETED,
    INCOMPLETE,
    RUNNING,
    LineOutcome,
    ProgressFactory,
    RunRecord,
    RunResult,
    RunSpec,
)

logger = logging.getLogger(__name__)


def run_key(spec: RunSpec, flow_sha256: str, llm_identity: dict[str, str]) -> dict[str, Any]:
    # The flow's path is part of what a run is: cassettes and call tags are found by it, so a copy of
    # the flow in another folder is another run even when its files are byte for byte the same.
    key: dict[str, Any] = {
        "kind": spec.kind, "flow": flow_sha256, "flow_path": spec.flow_path, "variant": spec.variant,
        "data": spec.data_sha256, "mapping": spec.mapping, "llm": llm_identity, "parent": spec.parent_run_id}
    if spec.trial:  # trial 0 keeps the key (and run id) a single-trial run always had, so it is reused
        key["trial"] = spec.trial
    return key


@dataclass(frozen=True)
class Identified:
    """A spec with its content key, run id and name, and the snapshot its flow runs from."""

    spec: RunSpec
    key: dict[str, Any]
    run_id: str
    name: str
    snapshot: Path


def identify(state_dir: Path, spec: RunSpec, session: FlowSession) -> Identified:
    flow_sha, snapshot = materialize(spec.flow.folder, state_dir / "snapshots")
    key = run_key(spec, flow_sha, session.identity())
    run_id = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    trial = f"_trial{spec.trial}" if spec.trial else ""
    name = f"{spec.use_case}_{spec.env}_{spec.variant_label}_{spec.dataset}{trial}_{run_id[:6]}"
    return Identified(spec, key, run_id, name, snapshot)


@dataclass(frozen=True)
class Begun:
    """A run registered as running, with the lines it still has to run (its failed lines among them)."""

    run: Identified
    record: RunRecord
    pending: list[tuple[int, dict[str, Any]]]

    @property
    def label(self) -> str:
        """What a progress bar calls the run."""
        spec = self.run.spec
        return f"{spec.variant_label} ({spec.dataset}" + (f", trial {spec.trial})" if spec.trial else ")")


@dataclass
class _StartedRun:
    """A run begun on this machine: its flow runner and where its finished lines go."""

    begun: Begun
    runner: LineRunner
    writer: LineSink
    on_done: Callable[[LineOutcome], None]


def _reused(registry: RunRegistry, record: RunRecord) -> RunResult:
    return RunResult(record, registry.lines(record.run_id), reused=True, executed_lines=0)


def begin(registry: RunRegistry, run: Identified) -> RunResult | Begun:
    """Reuse the run when it finished before with every line; otherwise register it and find what is left
    to do: the lines never run, and the failed ones (a failed line is never a result to reuse)."""
    spec, name = run.spec, run.name
    existing = registry.get_run(run.run_id)
    if existing is not None and existing.status == COMPLETED:
        logger.info("reusing run %s (%d lines): nothing changed", name, existing.lines_total)
        return _reused(registry, existing)
    succeeded, failed = registry.line_states(run.run_id)
    pending = [(i, inputs) for i, inputs in spec.rows if i not in succeeded]
    if existing is not None and existing.status == INCOMPLETE and not pending:
        logger.info("reusing run %s (%d lines, %d failed): its failed lines wait for the lines they need",
                    name, existing.lines_total, existing.lines_failed)
        return _reused(registry, existing)

    total = len(spec.rows) + len(spec.skipped or {})
    record = RunRecord(
        run_id=run.run_id, name=name, use_case=spec.use_case, env=spec.env, kind=spec.kind, flow=spec.flow.name,
        variant=spec.variant, variant_label=spec.variant_label, dataset=spec.dataset,
        dataset_version=spec.dataset_version, parent_run_id=spec.parent_run_id, status=RUNNING,
        lines_total=total, lines_failed=0, trial=spec.trial, data_sha256=spec.data_sha256,
    )
    registry.start_run(record, run.key)
    skipped = [LineOutcome(i, {}, {}, reason, 0.0) for i, reason in (spec.skipped or {}).items() if i not in succeeded]
    registry.save_lines(run.run_id, skipped)
    _say_what_is_left(name, total, len(succeeded), len(failed & {i for i, _ in pending}), len(pending))
    return Begun(run, record, pending)


def flow_runner(begun: Begun, session: FlowSession) -> LineRunner:
    """The run's flow, its variant applied, with connections through the session's gateway."""
    spec = begun.run.spec
    prepared = prepare(begun.run.snapshot, spec.flow.relative_file, spec.variant)
    connections = session.pf_connections(spec.flow.name, begun.run.run_id, spec.variant_label, prepared.connections,
                                         spec.trial)
    return prepared.runner(connections)


def _start(registry: RunRegistry, run: Identified, session: FlowSession,
           progress: ProgressFactory | None) -> RunResult | _StartedRun:
    begun = begin(registry, run)
    if isinstance(begun, RunResult):
        return begun
    total, left = begun.record.lines_total, len(begun.pending)
    writer = registry.line_writer(run.run_id)
    tick: Callable[[LineOutcome], None] | None = None

    def on_done(outcome: LineOutcome) -> None:
        nonlocal tick
        writer.add(outcome)
        if progress and tick is None:  # the bar appears when the run starts, not when it is queued
            tick = progress(begun.label, total, total - left)
        if tick:
            tick(outcome)

    return _StartedRun(begun, flow_runner(begun, session), writer, on_done)


def _say_what_is_left(name: str, total: int, succeeded: int, retried: int, pending: int) -> None:
    if not pending or not (succeeded or retried):
        return  # a new run, or one whose lines all ran before it was cut short
    if pending > retried:
        logger.info("resuming run %s: %d of %d lines already done%s", name, succeeded, total,
                    f", retrying {retried} failed" if retried else "")
    else:
        logger.info("run %s: %d of %d lines done, retrying %d failed", name, succeeded, total, retried)


def finish(registry: RunRegistry, begun: Begun, runner: LineRunner) -> RunResult:
    """End the run: its metrics from the aggregation nodes over every succeeded line, those of earlier
    executions too."""
    all_lines = registry.lines(begun.record.run_id)
    final = registry.finish_run(begun.record.run_id, runner.aggregate(all_lines))
    return RunResult(final, all_lines, reused=False, executed_lines=len(begun.pending))


def lines_in_flight(llm_concurrency: int) -> int:
    """Lines run at once: half again the LLM calls allowed in flight.

    The gateway holds each upstream to `llm_concurrency` calls at once (the limit a provider's rate
    limits care about). A line also has CPU work around its calls (prompt rendering, parsing, python
    nodes); with only as many lines as slots, a slot idles while its line does that work. The extra
    lines wait at the gateway, so the model never waits for them.
    """
    return llm_concurrency + max(1, llm_concurrency // 2)


def execute_all(state_dir: Path, registry: RunRegistry, specs: list[RunSpec], session: FlowSession, concurrency: int,
                progress: ProgressFactory | None = None) -> list[RunResult]:
    """Execute several runs, their lines sharing one budget (see lines_in_flight); results in `specs` order.

    `state_dir` holds the flow snapshots and the run locks: while this process executes the runs it holds
    them, and another command executing one of them waits.
    """
    with full_disk_named(state_dir):
        configure_promptflow(state_dir)
        identified = [identify(state_dir, spec, session) for spec in specs]
        with holding_runs(state_dir, {run.run_id: run.name for run in identified}):
            runs = [_start(registry, run, session, progress) for run in identified]
            started = [run for run in runs if isinstance(run, _StartedRun)]
            with ExitStack() as writers:
                for run in started:
                    writers.callback(run.writer.close)  # on Ctrl-C too: finished lines are kept for the resume
                run_batches([LineBatch(run.runner, run.begun.pending, run.on_done) for run in started],
                            lines_in_flight(concurrency))
            return [finish(registry, run.begun, run.runner) if isinstance(run, _StartedRun) else run for run in runs]
