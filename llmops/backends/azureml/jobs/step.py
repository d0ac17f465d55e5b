"""One step's lines on Azure ML: merge what earlier jobs of the same runs did, reattach to one still running,
or submit one for what is left; then merge what it brings back.

Jobs of a step are found by name (naming.py): attempt 1, 2... of the series its run ids make. Each call
goes through them in order: a job still running is waited for (reattach) or canceled (--cancel); a
completed one not merged here yet is merged (a fresh CI runner merges them all, and submits nothing when
they did every line); a failed or canceled one is passed over, its lines run again. Lines still without a
success then go into the next attempt, which this call submits and waits for.
"""

from __future__ import annotations

import logging
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops.backends.azureml.errors import azure_errors
from llmops.backends.azureml.jobs import tracking
from llmops.backends.azureml.jobs.bundle import write_bundle
from llmops.backends.azureml.jobs.environment import job_environment, pinned_requirements
from llmops.backends.azureml.jobs.merge import download, merge_calls, merge_lines, was_merged
from llmops.backends.azureml.jobs.naming import attempt_name, job_tags, series_name
from llmops.backends.azureml.jobs.pipeline import JobShape, step_pipeline
from llmops.backends.azureml.jobs.sdk_logs import sdk_quiet
from llmops.backends.azureml.jobs.shards import lines_per_shard, write_shards
from llmops.backends.azureml.node.manifest import LlmPlan, Manifest, RunEntry, VaultPlan
from llmops.backends.azureml.node.vault_connections import secret_name
from llmops.backends.azureml.node.worker import KEYED_PROFILES
from llmops.backends.azureml.settings import AzureSettings
from llmops.backends.local.engine.run_execution import Begun, Identified, lines_in_flight
from llmops.backends.protocols import FlowSession, RunRegistry
from llmops.backends.types import LineOutcome, ProgressFactory
from llmops.config.workspace import Workspace
from llmops.errors import JobCanceled, LlmopsError, StepFailed

logger = logging.getLogger(__name__)
CONSTRAINTS = "constraints.txt"


@dataclass
class StepJobs:
    """The jobs of one execute() call and what they brought back."""

    workspace: Workspace
    settings: AzureSettings
    client: Any
    registry: RunRegistry
    session: FlowSession
    runs: list[Identified]  # every run of the step: their ids name the job series
    begun: list[Begun]  # the runs with lines still to do
    concurrency: int
    progress: ProgressFactory | None = None
    executed: Counter[str] = field(default_factory=Counter)  # lines run by jobs this command submitted or waited for
    merged_jobs: list[str] = field(default_factory=list)

    @property
    def _state(self) -> Path:
        return self.workspace.state_dir / "azureml"

    @property
    def _accounting_db(self) -> Path:
        return self.workspace.state_dir / "llm_calls.sqlite"

    def complete(self, cancel: bool) -> None:
        spec = self.runs[0].spec
        series = series_name(spec.use_case, spec.kind, [run.run_id for run in self.runs])
        with azure_errors(self.settings):
            tried = 0
            for job in tracking.attempts(self.client, series):
                tried += 1
                self._take(job, cancel)
            left = self._left()
            if not left:
                return
            if cancel:
                raise LlmopsError(f"--cancel: no Azure ML job of this {spec.kind} step is running (jobs "
                                  f"{series}-N); nothing was canceled or submitted")
            name = attempt_name(series, tried + 1)
            self._take(self._submit(name, left), cancel=False, submitted=True)
            self._record_lost(name)

    def _take(self, job: Any, cancel: bool, submitted: bool = False) -> None:
        """Wait for (or cancel) a running job, then merge it if it completed and is not merged here yet."""
        name = job.name
        waited = submitted
        if tracking.is_active(job):
            if cancel:
                tracking.cancel(self.client, name)
                raise JobCanceled(f"canceled Azure ML job {name}; its lines run again the next time the command "
                                  "runs without --cancel")
            if not submitted:
                logger.info("reattaching to job %s (%s), which an earlier command submitted for these runs: %s",
                            name, tracking.status_of(job), job.studio_url)
            job, waited = tracking.wait(self.client, name), True
        status = tracking.status_of(job)
        if status == tracking.COMPLETED:
            if not was_merged(self._accounting_db, name):
                if not waited:
                    logger.info("found job %s, which completed these runs' lines earlier: merging them", name)
                self._merge(name, live=waited)
            return
        reason = tracking.failure_reason(self.client, name).rstrip(".") or f"see {job.studio_url}"
        if waited:  # the job this command waited for did not complete: the step cannot either
            raise StepFailed(f"Azure ML job {name} ended {status}: {reason}; its lines did not come back: run the "
                             "same command again to run them in a new job")
        logger.info("job %s of these runs ended %s earlier (%s); its lines run again", name, status, reason)

    def _merge(self, name: str, live: bool) -> None:
        folder = self._state / "downloads" / name
        shutil.rmtree(folder, ignore_errors=True)
        with sdk_quiet():
            outputs = download(self.client, name, folder)
        merged = merge_lines(self.registry, self.begun, outputs.rows)
        calls = merge_calls(self._accounting_db, name, outputs.call_files)
        shutil.rmtree(folder, ignore_errors=True)
        self.merged_jobs.append(name)
        if live and calls:
            self.session.count_remote_calls(calls)
        for begun in self.begun:
            outcomes = merged.get(begun.record.run_id, [])
            if live:
                self.executed[begun.record.run_id] += len(outcomes)
            if outcomes and self.progress is not None:
                total = begun.record.lines_total
                tick = self.progress(begun.label, total, total - len(begun.pending))
                for outcome in outcomes:
                    tick(outcome)
        logger.info("job %s: merged %d lines of %d runs and %s LLM calls", name,
                    sum(len(outcomes) for outcomes in merged.values()),
                    sum(1 for outcomes in merged.values() if outcomes), "no" if calls is None else calls.total())

    def _left(self) -> list[tuple[Begun, list[tuple[int, dict[str, Any]]]]]:
        """Each run's lines without a success yet: never run, failed, or lost."""
        left = []
        for begun in self.begun:
            succeeded, _ = self.registry.line_states(begun.record.run_id)
            pending = [(index, inputs) for index, inputs in begun.run.spec.rows if index not in succeeded]
            if pending:
                left.append((begun, pending))
        return left

    def _record_lost(self, name: str) -> None:
        """Lines the last job returned no row for (their shard failed on every try) count as failed: the step's
        FAILED_LINE_THRESHOLD applies to them, and the next command runs them again."""
        for begun in self.begun:
            succeeded, failed = self.registry.line_states(begun.record.run_id)
            lost = [LineOutcome(index, inputs, {}, f"lost on Azure ML: job {name} returned no result for this line "
                                "(its mini-batch failed on every try); it runs again next time", 0.0)
                    for index, inputs in begun.run.spec.rows if index not in succeeded | failed]
            if lost:
                logger.warning("job %s: %d lines of run %s came back with no result", name, len(lost),
                               begun.record.name)
                self.registry.save_lines(begun.record.run_id, lost)

    def _submit(self, name: str, left: list[tuple[Begun, list[tuple[int, dict[str, Any]]]]]) -> Any:
        """Submit attempt `name` for the lines `left`; returns the job as Azure ML took it."""
        settings, first = self.settings, self.runs[0].spec
        lines = [(begun.record.run_id, index, inputs) for begun, pending in left for index, inputs in pending]
        workers = settings.instance_count * settings.max_concurrency_per_instance
        per_shard = lines_per_shard(len(lines), workers)
        shards_dir = self._state / "lines" / name
        shutil.rmtree(shards_dir, ignore_errors=True)
        shards = write_shards(shards_dir, lines, per_shard)
        manifest, snapshots = self._manifest([begun for begun, _ in left])
        cassettes = self.session.settings.cassette_dir if "replay" in manifest.llm.choices.values() else None
        bundle = write_bundle(self._state / "bundles", manifest, snapshots, cassettes)
        environment = job_environment(pinned_requirements(self.workspace.root / CONSTRAINTS,
                                                          self._flow_requirements([begun for begun, _ in left])))
        tags = job_tags([run.spec for run in self.runs], [run.run_id for run in self.runs], self.workspace.root)
        shape = JobShape(name=name, display_name=f"{first.use_case} {first.env} {first.kind}: {len(left)} runs, "
                         f"{len(lines)} lines", experiment=f"llmops-{first.use_case}", tags=tags, shards=shards,
                         lines_per_shard=per_shard)
        with sdk_quiet():
            submitted = self.client.jobs.create_or_update(step_pipeline(settings, shape, bundle, shards_dir,
                                                                        environment))
        where = f"cluster {settings.compute}" if settings.compute else f"serverless {settings.instance_type}"
        logger.info("submitted Azure ML job %s: %d lines of %d runs in %d mini-batches, on %d node(s) x %d "
                    "worker(s) (%s)", name, len(lines), len(left), shards, settings.instance_count,
                    settings.max_concurrency_per_instance, where)
        logger.info("job %s in Azure ML studio: %s", name, submitted.studio_url)
        return submitted

    def _manifest(self, begun: list[Begun]) -> tuple[Manifest, dict[str, Path]]:
        snapshots = {f"flows/{b.run.snapshot.name}": b.run.snapshot for b in begun}
        runs = {b.record.run_id: RunEntry(flow=b.run.spec.flow.name, folder=f"flows/{b.run.snapshot.name}",
                                          flow_file=b.run.spec.flow.relative_file,
                                          variant=b.run.spec.variant, variant_label=b.run.spec.variant_label,
                                          trial=b.run.spec.trial)
                for b in begun}
        llm = self.session.settings
        used = {connection for b in begun for _, connection in b.run.spec.flow.connections()}
        choices = {name: choice.profile for name, choice in self.session.choices.items() if name in used}
        _check_runs_here(choices, self.settings)
        keyed = sorted(name for name, profile in choices.items() if profile in KEYED_PROFILES)
        vault = None
        if keyed:
            cloud = self.settings.cloud
            vault = VaultPlan(self.settings.keyvault, cloud.vault_url(self.settings.keyvault), cloud.keyvault_scope,
                              {name: secret_name(name) for name in keyed})
        first = begun[0].run.spec
        plan = LlmPlan(provider=llm.provider, choices=choices, max_concurrency=llm.max_concurrency,
                       simulated_latency_s=llm.simulated_latency_s, embedded_model=llm.embedded_model,
                       record_hint=llm.record_hint, cache=llm.cache)
        return Manifest(first.use_case, first.env, first.kind, lines_in_flight(self.concurrency), plan, runs,
                        vault), snapshots

    def _flow_requirements(self, begun: list[Begun]) -> dict[str, list[str]]:
        found = {}
        for b in begun:
            flow = b.run.spec.flow
            name = (flow.raw.get("environment") or {}).get("python_requirements_txt") or "requirements.txt"
            path = flow.folder / name
            if path.is_file():
                found[self.workspace.shown(path)] = path.read_text(encoding="utf-8").splitlines()
        return found


def _check_runs_here(choices: dict[str, str], settings: AzureSettings) -> None:
    """Refuse, before submitting, what a node cannot do."""
    embedded = sorted(name for name, profile in choices.items() if profile == "embedded")
    if embedded:
        names = ", ".join(embedded)
        vault = settings.keyvault or "<KEYVAULT_NAME>"
        raise LlmopsError(
            f"connection(s) {names} would use the embedded model, which does not run on Azure ML nodes: store each "
            f"connection in key vault '{vault}' as secret {secret_name(embedded[0])} (the JSON of its .env line; "
            f"{settings.keys('KEYVAULT_NAME')} names the vault), or run with --provider replay")
    keyed = [name for name, profile in choices.items() if profile in KEYED_PROFILES]
    if keyed and not settings.keyvault:
        raise LlmopsError(f"{settings.keys('KEYVAULT_NAME')}: empty, but connection(s) {', '.join(sorted(keyed))} "
                          "need keys, which Azure ML nodes read from Key Vault; set it to your key vault's name")
