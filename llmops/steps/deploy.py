"""Step: deploy a model version to the env's endpoint with A/B traffic; and the endpoint's own operations.

The target (--target: local, azure_managed, kubernetes, webapp; serving/targets.py) says where;
the rules are the same for all (serving/release.py): the current deployment is created at 0%, smoke-tested
alone (the azureml-model-deployment header), and only then does traffic move to the configured split,
validated as a whole before anything changed. The prior deployment stays for rollback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from llmops.backends import open_backend
from llmops.backends.canary import CanaryDecision, DecisionLog
from llmops.backends.endpoints import Deployment, DeploymentInUse, Endpoint, TrafficMap
from llmops.backends.protocols import Backend, EndpointRegistry
from llmops.backends.targets import LOCAL, DeploymentTarget, config_key
from llmops.backends.traffic import Split, parse_split
from llmops.backends.types import ModelVersion
from llmops.config.deployment_config import OnlineEndpoint, WebAppEndpoint
from llmops.config.flow_base import Flow
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError
from llmops.serving import process
from llmops.serving.endpoint_config import local_endpoint
from llmops.serving.endpoint_key import EndpointKey, resolve_key
from llmops.serving.model_flow import model_flow
from llmops.serving.production_log import log_path
from llmops.serving.release import release
from llmops.serving.smoke import RequestCheck, sample_requests
from llmops.serving.targets import choose_target, open_target, target_block
from llmops.serving.variant_choice import VariantChoice, choose_variant, registered_variant

logger = logging.getLogger(__name__)
SHOWN_DECISIONS = 10  # the canary decisions `endpoint status` shows, newest last


@dataclass(frozen=True)
class DeployResult:
    target: str
    endpoint: str
    deployment: Deployment
    model: ModelVersion
    choice: VariantChoice
    smoke: list[RequestCheck]
    traffic: TrafficMap
    notes: list[str] = field(default_factory=list)
    scoring_url: str | None = None  # a cloud endpoint's (the local one's is in `endpoint status`)

    def to_dict(self) -> dict[str, Any]:
        d = self.deployment
        return {"target": self.target, "endpoint": self.endpoint, "scoring_url": self.scoring_url,
                "deployment": d.name, "slot": d.slot or None, "model": d.model_name,
                "model_version": d.model_version, "variant": d.variant, "variant_label": d.variant_label,
                "variant_source": self.choice.source, "traffic": self.traffic.split.live,
                "mirror": self.traffic.split.mirror, "notes": self.notes,
                "smoke_test": [c.describe() for c in self.smoke]}


def _refused(use_case: UseCase, env: str, kind: str, block: OnlineEndpoint | WebAppEndpoint, endpoint: str,
             busy: DeploymentInUse) -> LlmopsError:
    """What to change when the release would replace the deployment that serves users."""
    where = f"use_cases/{use_case.name}/configs/deployment_config.json: {config_key(kind)} for env '{env}'"
    serves = (f"serves model {busy.existing.model_name} version {busy.existing.model_version} to users "
              f"({busy.split.describe()})")
    if isinstance(block, WebAppEndpoint):
        return LlmopsError(
            f"{where}: the staging slot of web app '{endpoint}' runs release {busy.existing.name}, which {serves}, and "
            "a new release must start at 0%; promote it (set CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION to 100 and deploy "
            f"it again) or roll back first: llmops endpoint rollback --use-case {use_case.name} --env {env} "
            f"--target {kind}")
    current, prior = block.CURRENT_DEPLOYMENT_NAME, block.PRIOR_DEPLOYMENT_NAME
    other = prior or ("green" if current == "blue" else "blue")
    return LlmopsError(
        f"{where}: deployment '{current}' {serves}, and a new release must start at 0% beside it. Alternate the "
        f"names for this release: set CURRENT_DEPLOYMENT_NAME to '{other}' and PRIOR_DEPLOYMENT_NAME to '{current}'"
    )


def _opened(workspace: Workspace, use_case: UseCase, env: str, target: str | DeploymentTarget | None,
            backend: Backend | None, key: EndpointKey | None = None) -> DeploymentTarget:
    if target is None or isinstance(target, str):
        kind = choose_target(use_case, env, target)
        return open_target(workspace, use_case, env, kind, backend or open_backend(workspace, use_case, env), key)
    return target


def open_deployment_target(workspace: Workspace, use_case: UseCase, env: str, target: str | DeploymentTarget | None,
                           backend: Backend | None) -> DeploymentTarget:
    """The target a command acts on: one the caller opened, or the one `target` names (None or auto: the env's)."""
    return _opened(workspace, use_case, env, target, backend)


def _variant(workspace: Workspace, use_case: UseCase, env: str, kind: str, model: ModelVersion,
             flow: Flow) -> VariantChoice:
    """The local endpoint runs the snapshot with the variant the latest report chooses; an image serves the variant
    registered with its model version (llmops-image.json), so a cloud deployment records that one."""
    if kind == LOCAL:
        return choose_variant(workspace.reports_dir, use_case.name, env, flow)
    return registered_variant(model, flow)


def _refuse_a_remote_registry_locally(use_case: UseCase, env: str, kind: str, backend: Backend) -> None:
    """The local endpoint's server loads model versions from this machine's registry; an env whose registry is
    elsewhere (BACKEND azureml: its workspace) deploys to an Azure target, which runs the version's image."""
    if kind != LOCAL or backend.name == "local":
        return
    raise LlmopsError(
        f"env '{env}' registers its model versions in its Azure ML workspace (BACKEND {backend.name}), and the "
        "local endpoint serves only versions of this machine's registry; deploy to an Azure target instead: give "
        f"env '{env}' an azure_managed_endpoint, kubernetes_endpoint or webapp_endpoint block in "
        f"use_cases/{use_case.name}/configs/deployment_config.json and no local_endpoint entry, or pass --target "
        "azure_managed, kubernetes or webapp (nothing was deployed)")


def deploy(workspace: Workspace, use_case: UseCase, env: str, target: str | DeploymentTarget | None = None,
           model_version: int | None = None, key: EndpointKey | None = None,
           backend: Backend | None = None) -> DeployResult:
    """`target`: a target's name (None or auto: the env's, choose_target), or one the caller opened (the CLI opens a
    web app with the Azure variables it read). `key`: the local endpoint's key (resolve_key), for the smoke test."""
    backend = backend or open_backend(workspace, use_case, env)
    chosen = _opened(workspace, use_case, env, target, backend, key)
    kind = chosen.kind
    _refuse_a_remote_registry_locally(use_case, env, kind, backend)
    block = target_block(use_case, env, kind)
    chosen.check()
    models = backend.registry.models
    model_name = f"{use_case.name}_{env}"
    model = models.latest(model_name) if model_version is None else models.get(model_name, model_version)
    flow = model_flow(model)
    requests = sample_requests(use_case.path(block.TEST_FILE_PATH), block.TEST_FILE_PATH)
    choice = _variant(workspace, use_case, env, kind, model, flow)
    variables = block.ENVIRONMENT_VARIABLES if isinstance(block, OnlineEndpoint) else {}
    deployment = Deployment(endpoint=chosen.endpoint, name=chosen.deployment_name(model),
                            model_name=model.name, model_version=model.version,
                            flow=str(model.lineage.get("flow") or flow.name), variant=choice.variant,
                            variant_label=choice.label, env_vars=dict(variables))
    try:
        done = release(chosen, block, config_key(kind), deployment, model, requests, list(flow.outputs))
    except DeploymentInUse as busy:  # the config says how to fix it
        raise _refused(use_case, env, kind, block, chosen.endpoint, busy) from None
    return DeployResult(kind, chosen.endpoint, done.deployment, model, choice, done.smoke, done.traffic,
                        done.notes, chosen.scoring_url() if kind != LOCAL else None)


# -- the endpoint's own operations ---------------------------------------------------------------


def _endpoints(workspace: Workspace, use_case: UseCase, env: str, backend: Backend | None) -> EndpointRegistry:
    return (backend or open_backend(workspace, use_case, env)).registry.endpoints


@dataclass(frozen=True)
class EndpointStatus:
    name: str
    server: process.ServerInfo | None  # the local endpoint's server; None when it is not running, or for Azure
    healthy: bool
    endpoint: Endpoint | None  # None until `endpoint up` (local) or `deploy` (Azure) made it
    production_log: Path | None  # the local endpoint's
    target: str = LOCAL
    cloud_scoring_url: str | None = None  # a cloud endpoint's
    canary_decisions: list[CanaryDecision] = field(default_factory=list)  # `endpoint watch`'s newest ones

    def to_dict(self) -> dict[str, Any]:
        server, endpoint = self.server, self.endpoint
        split = endpoint.split if endpoint else None
        return {
            "target": self.target, "endpoint": self.name, "running": server is not None, "healthy": self.healthy,
            "pid": server.pid if server else None, "url": server.url if server else None,
            "scoring_url": server.scoring_url if server else self.cloud_scoring_url,
            "provider": endpoint.provider if endpoint else None,
            "server_log": server.server_log if server else None,
            "production_log": str(self.production_log) if self.production_log else None,
            "traffic": split.live if split else {}, "mirror": split.mirror if split else {},
            "deployments": [{"name": d.name, "slot": d.slot or None, "model": d.model_name,
                             "model_version": d.model_version,
                             "variant": d.variant_label, "traffic": split.live.get(d.name, 0) if split else 0,
                             "mirror": split.mirror.get(d.name, 0) if split else 0}
                            for d in (endpoint.deployments if endpoint else ())],
            "canary_decisions": [d.to_dict() for d in self.canary_decisions],
        }


class EndpointUpResult(NamedTuple):
    server: process.ServerInfo
    started: bool  # False when it was already running

    def to_dict(self) -> dict[str, Any]:
        info = self.server
        return {"endpoint": info.endpoint, "started": self.started, "pid": info.pid,
                "scoring_url": info.scoring_url, "provider": info.provider}


def endpoint_key(workspace: Workspace, use_case: UseCase, env: str, environ: Mapping[str, str],
                 env_file: Path | None = None) -> EndpointKey | None:
    """The key the env's endpoint requires (its AUTH_KEY_VARIABLE, from `environ` or the .env file); None when
    its local_endpoint names none."""
    return resolve_key(use_case, env, env_file or workspace.root / ".env", environ)


def parse_traffic(live: str | None, mirror: str | None) -> tuple[dict[str, int] | None, dict[str, int] | None]:
    """`--set blue=90,green=10` and `--mirror green=10` (or `none`, which clears the mirror) as share maps."""
    return (parse_split(live) if live else None,
            None if mirror is None else {} if mirror.strip() == "none" else parse_split(mirror, "--mirror"))


def endpoint_up(workspace: Workspace, use_case: UseCase, env: str, provider: str = "auto", *,
                embedded_model: str = "qwen-1.5b", env_file: Path | None = None, port: int = 0, threads: int = 8,
                seed: int | None = None, log_max_bytes: int | None = None, key: EndpointKey | None = None,
                backend: Backend | None = None) -> EndpointUpResult:
    """Start the env's endpoint server in the background; returns (its record, True when this call started it).

    `key`: the key POST /score will require (resolve_key), when the env's local_endpoint names one."""
    endpoints = _endpoints(workspace, use_case, env, backend)
    name = local_endpoint(use_case, env).ENDPOINT_NAME
    already = process.running(workspace.state_dir, name)
    if already is not None:
        return EndpointUpResult(already, False)
    endpoints.ensure_endpoint(name, use_case.name, env, provider)
    return EndpointUpResult(*process.start(process.ServeOptions(
        root=workspace.root, state_dir=workspace.state_dir, use_case=use_case.name, env=env, endpoint=name,
        provider=provider, embedded_model=embedded_model, env_file=env_file, port=port, threads=threads, seed=seed,
        log_max_bytes=log_max_bytes, key=key.value if key else None,
    )))


def endpoint_down(workspace: Workspace, use_case: UseCase, env: str) -> process.ServerInfo | None:
    return process.stop(workspace.state_dir, local_endpoint(use_case, env).ENDPOINT_NAME)


def endpoint_status(workspace: Workspace, use_case: UseCase, env: str, backend: Backend | None = None,
                    target: str | DeploymentTarget | None = None,
                    decisions: DecisionLog | None = None) -> EndpointStatus:
    """`decisions`: where a cloud endpoint's canary decisions are kept (its production-log container, which the CLI
    opens); without it, the backend's endpoint registry."""
    kind = target.kind if target is not None and not isinstance(target, str) else choose_target(use_case, env, target)
    if kind != LOCAL:
        chosen = _opened(workspace, use_case, env, target if target is not None else kind, backend)
        state = chosen.state()
        return EndpointStatus(chosen.endpoint, None, True, state, None, kind, chosen.scoring_url(),
                              _shown_decisions(decisions or _endpoints(workspace, use_case, env, backend),
                                               chosen.endpoint))
    endpoints = _endpoints(workspace, use_case, env, backend)
    name = local_endpoint(use_case, env).ENDPOINT_NAME
    server = process.running(workspace.state_dir, name)
    try:
        endpoint: Endpoint | None = endpoints.get_endpoint(name)
    except LlmopsError:
        endpoint = None
    return EndpointStatus(name, server, server is not None and process.healthy(server), endpoint,
                          log_path(workspace.state_dir, name),
                          canary_decisions=endpoints.decisions(name, SHOWN_DECISIONS))


def _shown_decisions(log: DecisionLog, endpoint: str) -> list[CanaryDecision]:
    """The newest decisions; none, with a warning, when their store cannot be read (a login that may read the endpoint
    but not its storage still gets the endpoint's status)."""
    try:
        return log.decisions(endpoint, SHOWN_DECISIONS)
    except LlmopsError as error:
        logger.warning("the canary decisions of endpoint '%s' are not shown: %s", endpoint, error)
        return []


def set_traffic(workspace: Workspace, use_case: UseCase, env: str, live: dict[str, int] | None,
                mirror: dict[str, int] | None = None, backend: Backend | None = None,
                target: str | DeploymentTarget | None = None) -> TrafficMap:
    """Set the live map and the mirror map (None keeps the current one) on the endpoint (a local one, running or
    not)."""
    chosen = _opened(workspace, use_case, env, target, backend)
    current = chosen.state().split
    split = Split(dict(current.live if live is None else live), dict(current.mirror if mirror is None else mirror))
    return chosen.set_split(split, "llmops endpoint traffic --set")


def traffic_history(workspace: Workspace, use_case: UseCase, env: str, backend: Backend | None = None,
                    target: str | DeploymentTarget | None = None) -> list[TrafficMap]:
    return _opened(workspace, use_case, env, target, backend).history()


def rollback(workspace: Workspace, use_case: UseCase, env: str, backend: Backend | None = None,
             target: str | DeploymentTarget | None = None) -> tuple[TrafficMap, TrafficMap]:
    return _opened(workspace, use_case, env, target, backend).rollback()
