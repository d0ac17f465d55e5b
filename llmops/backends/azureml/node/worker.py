"""One worker process of a step's parallel job: the laptop's engine and LLM session, remade from the manifest.

A worker opens one LLM session (its own gateway on loopback, holding the keys it read from Key Vault) and
runs each mini-batch's lines with the local engine's line loop (flow_runner.run_batches), as many at once
as a laptop would. Flows run from a copy in a temporary folder: prompt flow may write next to a flow, and
the job's code folder is shared by the node's workers (and read-only on some computes).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import tempfile
import time
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from llmops.backends.azureml.node.accounting_export import AccountingExport
from llmops.backends.azureml.node.manifest import Manifest, RunEntry
from llmops.backends.local.engine.flow_runner import LineBatch, run_batches
from llmops.backends.local.engine.line_runner import LineRunner
from llmops.backends.local.engine.prepared_flow import prepare
from llmops.backends.local.engine.promptflow_env import configure_promptflow
from llmops.backends.types import LineOutcome
from llmops.errors import LlmopsError

logger = logging.getLogger(__name__)
CASSETTES = "cassettes"
FLOWS = "flows"
# The profiles whose calls need a key: those connections are read from Key Vault.
KEYED_PROFILES = ("azure_openai", "openai", "openai_compatible")


def _collect(done: list[tuple[str, LineOutcome]], run_id: str, outcome: LineOutcome) -> None:
    done.append((run_id, outcome))


def result_row(run_id: str, outcome: LineOutcome) -> dict[str, Any]:
    """What a line sends back (its inputs are the laptop's already)."""
    return {"run": run_id, "index": outcome.index, "outputs": outcome.outputs, "error": outcome.error,
            "seconds": round(outcome.seconds, 4), "aggregation_inputs": outcome.aggregation_inputs}


class Worker:
    def __init__(self, bundle: Path, accounting_dir: Path) -> None:
        self.bundle = bundle
        self.manifest = Manifest.read(bundle)
        self._stack = ExitStack()
        self.work = Path(tempfile.mkdtemp(prefix="llmops-node-"))
        self._stack.callback(shutil.rmtree, self.work, True)
        try:
            configure_promptflow(self.work)
            shutil.copytree(bundle / FLOWS, self.work / FLOWS)
            self.flows = {run_id: prepare(self.work / entry.folder, entry.flow_file, entry.variant)
                          for run_id, entry in self.manifest.runs.items()}
            self.session = self._stack.enter_context(self._open_session())
            self.accounting = AccountingExport(self.work / "llm_calls.sqlite", accounting_dir)
        except BaseException:
            self._stack.close()
            raise
        self._runners: dict[str, LineRunner] = {}

    def _open_session(self) -> Any:
        from llmops.llm.providers import Use
        from llmops.llm.session import LlmSession, LlmSettings

        plan = self.manifest.llm
        uses = [Use(entry.flow, nc.node, nc.connection)
                for run_id, entry in self.manifest.runs.items() for nc in self.flows[run_id].connections]
        settings = LlmSettings(
            state_dir=self.work, cassette_dir=self.bundle / CASSETTES, provider=plan.provider,
            connections=self._connections(), embedded_model=plan.embedded_model, record_hint=plan.record_hint,
            cache=plan.cache, simulated_latency_s=plan.simulated_latency_s, max_concurrency=plan.max_concurrency,
        )
        session = LlmSession(settings, uses)
        chosen = {name: choice.profile for name, choice in session.choices.items()}
        if any(plan.choices.get(name) != profile for name, profile in chosen.items()):  # a secret changed meanwhile
            raise LlmopsError(f"this node would call {chosen}, but the job was keyed for {plan.choices}; run the "
                              "command again")
        return session

    def _connections(self) -> dict[str, Any]:
        keyed = sorted(name for name, profile in self.manifest.llm.choices.items() if profile in KEYED_PROFILES)
        if not keyed:
            return {}
        vault = self.manifest.vault
        if vault is None:
            raise LlmopsError(f"connections {', '.join(keyed)} need keys, but the job names no key vault")
        from azure.identity import DefaultAzureCredential

        from llmops.backends.azureml.node.vault_connections import vault_connections

        # A compute's user-assigned identity is named by the client id Azure ML gives the node; a system-assigned
        # one needs nothing.
        credential = DefaultAzureCredential(managed_identity_client_id=os.environ.get("DEFAULT_IDENTITY_CLIENT_ID"))
        return dict(vault_connections(vault, keyed, credential))

    def _runner(self, run_id: str) -> LineRunner:
        if run_id not in self._runners:
            entry: RunEntry = self.manifest.runs[run_id]
            prepared = self.flows[run_id]
            connections = self.session.pf_connections(entry.flow, run_id, entry.variant_label, prepared.connections,
                                                      entry.trial)
            self._runners[run_id] = prepared.runner(connections)
        return self._runners[run_id]

    def run(self, shard_files: list[str]) -> list[str]:
        """Run the lines of the mini-batch's shard files; one JSON row per line, failed lines included."""
        started = time.perf_counter()
        lines: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        for path in shard_files:
            for text in Path(path).read_text(encoding="utf-8").splitlines():
                if text.strip():
                    line = json.loads(text)
                    lines[line["run"]].append((int(line["index"]), line["inputs"]))
        done: list[tuple[str, LineOutcome]] = []
        batches = [LineBatch(self._runner(run_id), run_lines, functools.partial(_collect, done, run_id))
                   for run_id, run_lines in lines.items()]
        run_batches(batches, self.manifest.lines_in_flight)
        self.session.gateway.flush()
        calls = self.accounting.export()
        failed = sum(1 for _, outcome in done if outcome.error)
        logger.info("mini-batch: %d lines of %d runs, %d failed, %d LLM calls, %.1f s", len(done), len(lines), failed,
                    calls, time.perf_counter() - started)
        return [json.dumps(result_row(run_id, outcome)) for run_id, outcome in done]

    def stop(self) -> None:
        self.session.gateway.flush()
        self.accounting.export()
        self._stack.close()  # the session, then the temporary folder
