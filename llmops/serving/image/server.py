"""The endpoint server of an image, started from its build context: `python -m llmops.serving.image --context DIR`.

The same server as the local endpoint's (server_assembly.py: the bind rule, limits, 503 with Retry-After,
liveness and readiness, OpenTelemetry, the production log's place), serving the one model version in `DIR/flow`
as one deployment at 100% (image/fixed_records.py) instead of the local registry's deployments. The container's
ENTRYPOINT runs it on 0.0.0.0:8080; run.py runs it from a context folder as a local process.

No secret is read from the context: connections come from the environment (`aoai={...}` variables, as in
.env), the endpoint's key from LLMOPS_ENDPOINT_KEY. A bind to anything but loopback without a key is refused
before anything starts. A connection that would fall back to the embedded model is refused too: an image
carries no model, so it says which variable to set instead of failing on the first request.

Worker processes (workers.py): LLMOPS_WORKERS, by default one per CPU the container may use (server_settings.
usable_cpus). One process is bound by the GIL to about one core, and an image's container is given its cores to
serve with (a VM size, CPU_ALLOCATION, an App Service plan), so one worker per core puts them all to work; the
lines' LLM calls wait on the network in every worker alike, and every worker shares the one gateway and its
bound on calls per upstream. Each worker holds its own copy of the loaded flow (tens of MB for a flow of prompts
and python nodes): a deployment short of memory sets LLMOPS_WORKERS lower.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops.backends.content_hash import flow_hash
from llmops.backends.endpoints import Deployment
from llmops.backends.local.engine.promptflow_env import configure_promptflow
from llmops.backends.types import ModelVersion
from llmops.errors import LlmopsError
from llmops.llm.connections import SAMPLE_LINE, read_connections
from llmops.llm.providers import Use
from llmops.llm.session import LlmSession, LlmSettings
from llmops.serving.endpoint_key import KEY_ENV, EndpointKey, check_key_value
from llmops.serving.image.entry import CASSETTES_DIR, FLOW_DIR, ImageEntry, read_entry
from llmops.serving.image.fixed_records import FixedRecords, one_deployment_endpoint
from llmops.serving.image.release_settings import served_release
from llmops.serving.model_flow import model_flow
from llmops.serving.ports import LOOPBACK
from llmops.serving.server_assembly import ServerPlan, run_endpoint_server
from llmops.serving.server_settings import WORKERS_ENV, Listen, ServerLimits, usable_cpus, worker_count

logger = logging.getLogger(__name__)
# Said in a 413: an image has no deployment_config.json of its own to change.
BODY_LIMIT_SOURCE = "LLMOPS_ENDPOINT_MAX_BODY_BYTES in the deployment's environment"


@dataclass(frozen=True)
class ContextServeOptions:
    context_dir: Path
    state_dir: Path  # writable: prompt flow's home, the LLM cache, the production log
    host: str = LOOPBACK
    port: int = 8080
    threads: int = 8
    endpoint: str | None = None  # None: the entry's names
    deployment: str | None = None
    provider: str | None = None  # None: the entry's provider
    key: str | None = field(default=None, repr=False)  # from LLMOPS_ENDPOINT_KEY, never an argument
    ready_file: Path | None = None  # written with pid, host and port once the server listens


def _key(options: ContextServeOptions) -> EndpointKey | None:
    if not options.key:
        return None
    check_key_value(options.key, f"the endpoint key in {KEY_ENV}", KEY_ENV)
    return EndpointKey(KEY_ENV, options.key)


def _model(entry: ImageEntry, context_dir: Path) -> ModelVersion:
    snapshot = context_dir / FLOW_DIR
    digest = flow_hash(snapshot) if snapshot.is_dir() else ""
    if digest != entry.sha256:
        raise LlmopsError(f"{snapshot}: its files (sha256 {digest[:12] or 'none'}) are not those of model "
                          f"{entry.model_name} version {entry.model_version} (sha256 {entry.sha256[:12]}); build the "
                          "context again with: llmops image build")
    return ModelVersion(entry.model_name, entry.model_version, entry.sha256, snapshot, entry.lineage())


def _session(entry: ImageEntry, options: ContextServeOptions, uses: list[Use],
             environ: Mapping[str, str]) -> LlmSession:
    provider = options.provider or entry.provider
    settings = LlmSettings(
        state_dir=options.state_dir, cassette_dir=options.context_dir / CASSETTES_DIR, provider=provider,
        connections=read_connections(None, dict(environ)), record_hint="llmops record (then build the image again)",
        max_concurrency=entry.max_concurrency, start_model_now=True)
    session = LlmSession(settings, uses)
    embedded = sorted(c.connection for c in session.choices.values() if c.profile == "embedded")
    if embedded:
        raise LlmopsError(f"connection '{embedded[0]}' has no key in the server's environment, and an image carries "
                          f"no embedded model; set the variable {SAMPLE_LINE.format(name=embedded[0])} (a secret "
                          "setting of the platform)")
    return session


def _write_ready(path: Path, info: dict[str, Any]) -> None:
    staging = path.with_name(path.name + ".tmp")
    staging.write_text(json.dumps(info), encoding="utf-8")
    staging.replace(path)


def serve_context(options: ContextServeOptions, environ: Mapping[str, str] | None = None) -> None:
    environ = dict(os.environ) if environ is None else environ
    entry = read_entry(options.context_dir)
    endpoint_name = options.endpoint or entry.endpoint
    deployment_name = options.deployment or entry.deployment
    listen = Listen(options.host, options.port, _key(options))  # no public bind without a key
    options.state_dir.mkdir(parents=True, exist_ok=True)
    configure_promptflow(options.state_dir)
    model = _model(entry, options.context_dir)
    flow = model_flow(model)
    served = served_release(entry, flow, environ)  # the deployment's LLMOPS_MODEL / LLMOPS_VARIANT, checked
    # Said at start, before the port is taken: a live provider without its connection can never answer.
    session = _session(entry, options, [Use(entry.flow, node, name) for node, name in flow.connections()], environ)
    deployment = Deployment(endpoint_name, deployment_name, entry.model_name, entry.model_version, entry.flow,
                            served.variant, served.variant_label)
    records = FixedRecords(one_deployment_endpoint(deployment, entry.use_case, entry.env, session.settings.provider),
                           model)
    plan = ServerPlan(endpoint_name, options.state_dir, listen, ServerLimits(body_limit_source=BODY_LIMIT_SOURCE),
                      options.threads, deployment=deployment_name,
                      workers=worker_count(environ, usable_cpus(), f"{WORKERS_ENV} (default: the CPUs usable here)"))

    def listening(port: int) -> None:
        logger.info("serving model %s version %d (variant %s, from %s) as %s/%s on http://%s:%d%s", entry.model_name,
                    entry.model_version, served.variant_label, served.source, endpoint_name, deployment_name,
                    options.host, port, ", key required" if listen.key else "")
        if options.ready_file is not None:
            _write_ready(options.ready_file, {"pid": os.getpid(), "host": options.host, "port": port})

    try:
        run_endpoint_server(plan, lambda: records, lambda: session, environ, listening)
    finally:
        logger.info("endpoint %s/%s stopped", endpoint_name, deployment_name)
