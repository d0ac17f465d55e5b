"""The Azure ML executor: a step's lines run in one Azure ML pipeline job, sharded over nodes, each node running
the llmops engine and LLM gateway as a laptop does (jobs/, node/).

Runs are keyed, reused and resumed exactly as locally (the local engine's identify/begin/finish): a run
complete in the local run registry submits nothing; what earlier jobs of the same runs did is found by the
jobs' names and merged; the rest goes into a new job, whose lines are merged into the local run registry
(the merge target) and whose LLM calls into the state's accounting, so report, gates and register-model
read them as they read local runs. LLM keys come from Key Vault (KEYVAULT_NAME): on this machine to choose
each connection's provider and key the runs, on the nodes through the compute's identity.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmops.backends.azureml.errors import azure_errors
from llmops.backends.azureml.jobs.sdk_logs import sdk_quiet
from llmops.backends.azureml.jobs.step import StepJobs
from llmops.backends.azureml.node.manifest import VaultPlan
from llmops.backends.azureml.node.vault_connections import secret_name, vault_connections
from llmops.backends.azureml.settings import AzureSettings
from llmops.backends.local.disk_full import full_disk_named
from llmops.backends.local.engine.executor import LocalExecutor
from llmops.backends.local.engine.promptflow_env import configure_promptflow
from llmops.backends.local.engine.run_execution import Begun, begin, finish, flow_runner, identify
from llmops.backends.local.engine.run_lock import holding_runs
from llmops.backends.protocols import FlowSession, RunRegistry
from llmops.backends.types import COMPLETED, LineOutcome, ProgressFactory, RunResult, RunSpec
from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError, UsageError

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

    from llmops.config.flow_base import Flow
    from llmops.llm.connections import Connection

logger = logging.getLogger(__name__)
# Providers whose lines need no connection at all (replay answers from cassettes).
KEYLESS_PROVIDERS = ("replay", "simulated", "embedded")
METRICS_TAG = "llmops.metrics"  # set once a job's runs are finished: their metrics are in its tags


@dataclass(frozen=True)
class AzureMLExecutor:
    """The Executor protocol (llmops/backends/protocols.py) on the env's Azure ML workspace.

    `runs` is the local run registry: jobs' lines are merged into it. Flow snapshots, bundles, shard files
    and run locks live in the workspace's state directory.
    """

    workspace: Workspace
    settings: AzureSettings
    client: MLClient
    runs: RunRegistry

    def execute(self, specs: list[RunSpec], session: FlowSession, concurrency: int,
                progress: ProgressFactory | None = None, cancel: bool = False) -> list[RunResult]:
        if session.settings.record:
            raise UsageError("llmops record runs on the local backend only: record on an env with BACKEND local, "
                             "commit the cassettes, then run this env with --provider replay")
        state = self.workspace.state_dir
        with full_disk_named(state):
            configure_promptflow(state)  # the aggregation nodes run here, over the merged lines
            identified = [identify(state, spec, session) for spec in specs]
            with holding_runs(state, {run.run_id: run.name for run in identified}):
                begun = [begin(self.runs, run) for run in identified]
                started = [b for b in begun if isinstance(b, Begun)]
                if not started:
                    return [b for b in begun if isinstance(b, RunResult)]
                jobs = StepJobs(self.workspace, self.settings, self.client, self.runs, session, identified, started,
                                concurrency, progress)
                jobs.complete(cancel)
                results = [self._finish(b, session, jobs.executed[b.record.run_id]) if isinstance(b, Begun) else b
                           for b in begun]
                self._tag_metrics(jobs.merged_jobs, results)
                return results

    def _finish(self, begun: Begun, session: FlowSession, executed: int) -> RunResult:
        """Metrics over the merged lines, by the run's own aggregation nodes, here, exactly as locally."""
        result = finish(self.runs, begun, flow_runner(begun, session))
        # Lines an earlier command's job ran were merged, not executed: a run this command ran nothing of is reused.
        reused = executed == 0 and result.record.status == COMPLETED
        return RunResult(result.record, result.lines, reused=reused, executed_lines=executed)

    def _tag_metrics(self, job_names: list[str], results: list[RunResult]) -> None:
        """Each run's metrics as tags of the jobs merged here, so studio shows them beside the job."""
        tags = {f"metric.{r.record.variant_label}.{r.record.dataset}.{name}": _shown(value)
                for r in results for name, value in r.record.metrics.items()}
        with azure_errors(self.settings):
            for name in job_names:
                job = self.client.jobs.get(name)
                if METRICS_TAG in (job.tags or {}):
                    continue  # another command merged and tagged it first
                job.tags = {**(job.tags or {}), **tags, METRICS_TAG: str(len(tags))}
                with sdk_quiet():
                    self.client.jobs.create_or_update(job)

    def try_line(self, flow: Flow, variant: dict[str, str], variant_label: str, inputs: dict[str, Any],
                 session: FlowSession) -> LineOutcome:
        """A quick check runs here, with the same connections (from Key Vault) the nodes use."""
        return LocalExecutor(self.workspace.state_dir, self.runs).try_line(flow, variant, variant_label, inputs,
                                                                           session)

    def connections(self, names: list[str], provider: str, local: Mapping[str, Connection]) -> dict[str, Connection]:
        """The connections in the env's Key Vault (secrets llmops-connection-<name>); .env's are not used."""
        if provider in KEYLESS_PROVIDERS or not names:
            return {}
        settings = self.settings
        if not settings.keyvault:
            if provider == "auto":
                return {}  # no key anywhere: auto picks the embedded model, which execute() refuses, saying why
            raise LlmopsError(f"{settings.keys('KEYVAULT_NAME')}: empty, but --provider {provider} needs keys, which "
                              "Azure ML nodes read from Key Vault; set it to your key vault's name")
        vault = VaultPlan(settings.keyvault, settings.cloud.vault_url(settings.keyvault), settings.cloud.keyvault_scope)
        with azure_errors(settings):
            found = vault_connections(vault, names, self._credential(), required=provider != "auto")
        for name in sorted(found):
            unused = f" ({local[name].source} is not used on Azure ML)" if name in local else ""
            logger.info("connection %s: key vault '%s' secret %s%s", name, settings.keyvault, secret_name(name), unused)
        return found

    def _credential(self) -> Any:
        # MLClient keeps the credential it was given (no public accessor); the same identity reads the vault.
        from llmops.backends.azureml.credential import azure_credential

        return getattr(self.client, "_credential", None) or azure_credential(self.settings.cloud)

    def publish_connections(self, connections: Mapping[str, Connection]) -> str:
        vault = self.settings.keyvault or "<KEYVAULT_NAME>"
        raise LlmopsError(f"on Azure ML, lines read their connections from key vault '{vault}': store each as secret "
                          f"llmops-connection-<name> (az keyvault secret set --vault-name {vault} --name "
                          "llmops-connection-<name> --value '<the JSON of its .env line>')")


def _shown(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)[:256]
