"""An Azure ML online endpoint (managed or Kubernetes) as a deployment target (llmops/backends/targets.py).

The endpoint takes key auth and a system-assigned identity, which gets its roles (identity.py). A
deployment serves the model version's image (image.py) with the model version itself; llmops keeps what
a deployment runs in its tags (model, flow, variant), so `endpoint status` reads it back from Azure, and
the traffic history in the endpoint's tags (traffic_history.py), so `endpoint rollback` works from any
machine. A deployment that failed its smoke test stays at 0% (its logs are in Azure, and the next deploy
updates it in place). Each deployment's server ships its production log to the workspace's production-log
container (its URL in the deployment's environment), which the endpoint's identity may write
(azureml/production_logs.py).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from llmops.backends import traffic_history as history_tags
from llmops.backends.azureml import scoring
from llmops.backends.azureml.access import WorkspaceAccess
from llmops.backends.azureml.errors import azure_error, is_azure_error, missing_in_workspace
from llmops.backends.azureml.online.flavors import Flavor
from llmops.backends.azureml.online.identity import grant_roles
from llmops.backends.azureml.online.image import image_not_pulled, serving_environment, workspace_image
from llmops.backends.azureml.production_logs import LogContainer
from llmops.backends.endpoints import Deployment, DeploymentInUse, Endpoint, TrafficMap
from llmops.backends.production_logs import SEGMENT_ENV, URL_ENV
from llmops.backends.serving_image import ImageName
from llmops.backends.targets import KUBERNETES, RELEASE_PREFIX, ImageDigest, ScoringReply, release_variables
from llmops.backends.traffic import Split, check_split
from llmops.backends.types import ModelVersion
from llmops.config.deployment_config import AzureOnlineEndpoint
from llmops.errors import LlmopsError

logger = logging.getLogger(__name__)

MODEL_TAG, FLOW_TAG, VARIANT_TAG, LABEL_TAG = "llmops.model", "llmops.flow", "llmops.variant", "llmops.variant_label"
QUOTA_CODES = ("OutOfQuota", "QuotaExceeded")
# azure-ai-ml gives this module logger a stderr handler and level INFO of its own ("Check: endpoint x exists"), so the
# CLI's quieting of the `azure` loggers misses it.
_DEPLOYMENT_NOTES = "azure.ai.ml.operations._online_deployment_operations"


def _no_poll_dots() -> AbstractContextManager[Any]:
    """azure-ai-ml's pollers print a dot to stdout per poll of an operation; stdout holds llmops' results only. Its
    deployment notes follow the `azure` loggers' level (quiet unless --verbose)."""
    notes = logging.getLogger(_DEPLOYMENT_NOTES)
    notes.setLevel(max(notes.level, logging.getLogger("azure").level))
    return contextlib.redirect_stdout(io.StringIO())


def _created_at(entity: Any) -> str:
    context = getattr(entity, "creation_context", None)
    value: Any = getattr(context, "created_at", None)
    if value is None and isinstance(context, dict):
        value = context.get("createdAt")
    return str(value.isoformat()) if hasattr(value, "isoformat") else str(value or "")


@dataclass
class AzureOnlineTarget:
    access: WorkspaceAccess
    flavor: Flavor
    block: AzureOnlineEndpoint
    use_case: str
    env: str
    where: str  # "use_cases/x/configs/deployment_config.json: azure_managed_endpoint for env 'dev'"
    image_digest: ImageDigest  # names a model version's serving image, as `llmops image build` tagged it
    removes_failed_release: bool = field(default=False, init=False)

    @property
    def kind(self) -> str:
        return self.flavor.kind

    @property
    def endpoint(self) -> str:
        return self.block.ENDPOINT_NAME

    def deployment_name(self, model: ModelVersion) -> str:
        return self.block.CURRENT_DEPLOYMENT_NAME

    @property
    def _client(self) -> Any:
        return self.access.client

    def _call(self, what: str, action: Any) -> Any:
        """Run an SDK call; an Azure error becomes one line saying what was being done."""
        try:
            with _no_poll_dots():
                return action()
        except LlmopsError:
            raise
        except Exception as error:
            if not is_azure_error(error):
                raise
            raise LlmopsError(f"{what}: {azure_error(error, self.access.settings)}") from error

    # -- the endpoint ------------------------------------------------------------------------------

    def _find(self) -> Any | None:
        try:
            return self._client.online_endpoints.get(self.endpoint)
        except Exception as error:
            if missing_in_workspace(error):
                return None
            if not is_azure_error(error):
                raise
            raise LlmopsError(f"reading {self.flavor.described} '{self.endpoint}': "
                              f"{azure_error(error, self.access.settings)}") from error

    def _existing(self) -> Any:
        found = self._find()
        if found is None:
            raise LlmopsError(f"{self.flavor.described} '{self.endpoint}' does not exist in workspace "
                              f"'{self.access.settings.workspace}' yet; deploy first: llmops deploy --use-case "
                              f"{self.use_case} --env {self.env} --target {self.kind}")
        return found

    def check(self) -> None:
        self.flavor.check(self.block, self.where)

    def open(self) -> tuple[Endpoint, list[str]]:
        self.check()
        notes: list[str] = []
        found = self._find()
        if found is None:
            entity = self.flavor.endpoint(self.block, {})
            found = self._call(f"creating {self.flavor.described} '{self.endpoint}'",
                               lambda: self._client.online_endpoints.begin_create_or_update(entity).result())
            notes.append(f"created {self.flavor.described} '{self.endpoint}' (key auth)")
        elif self.flavor.kind == KUBERNETES and not getattr(found, "compute", None):
            raise LlmopsError(f"{self.where}: endpoint '{self.endpoint}' exists as a managed online endpoint, not a "
                              "Kubernetes one; give this target another ENDPOINT_NAME")
        if self._logs.ensure():
            notes.append(f"created blob container {self._logs.url} for the endpoint's production log")
        principal = getattr(getattr(found, "identity", None), "principal_id", None)
        if principal:
            registry = self._workspace_registry()
            notes += self._call(f"granting roles to endpoint '{self.endpoint}'",
                                lambda: grant_roles(self.access, self.endpoint, principal, registry, self._logs.scope))
        return self._record(found), notes

    @cached_property
    def _logs(self) -> LogContainer:
        return LogContainer(self.access)

    def state(self) -> Endpoint:
        return self._record(self._existing())

    def _deployments(self) -> list[Any]:
        return list(self._call(f"listing the deployments of '{self.endpoint}'",
                          lambda: list(self._client.online_deployments.list(endpoint_name=self.endpoint))))

    def _actual(self, entity: Any) -> Split:
        return Split({k: int(v) for k, v in (entity.traffic or {}).items()},
                     {k: int(v) for k, v in (entity.mirror_traffic or {}).items() if int(v)})

    def _history(self, entity: Any) -> list[TrafficMap]:
        return history_tags.reconcile(history_tags.read(entity.tags), self._actual(entity))

    def _record(self, entity: Any) -> Endpoint:
        active = history_tags.active(self._history(entity))
        deployments = tuple(sorted((self._deployment(d) for d in self._deployments()), key=lambda d: d.name))
        return Endpoint(self.endpoint, self.use_case, self.env, "azureml", 0, deployments,
                        active[0] if active else None)

    def _deployment(self, entity: Any) -> Deployment:
        tags = entity.tags or {}
        model_name, _, version = str(tags.get(MODEL_TAG, "")).rpartition(":")
        if not model_name:  # made outside llmops: its model reference says what it serves
            parts = str(entity.model or "").rstrip("/").split("/")
            model_name, version = (parts[-3], parts[-1]) if len(parts) >= 4 else (str(entity.model or ""), "0")
        try:
            variant = json.loads(tags.get(VARIANT_TAG) or "{}")
        except json.JSONDecodeError:
            variant = {}
        variables = {k: v for k, v in (entity.environment_variables or {}).items() if not k.startswith(RELEASE_PREFIX)}
        return Deployment(self.endpoint, entity.name, model_name, int(version) if version.isdigit() else 0,
                          str(tags.get(FLOW_TAG, "")), variant if isinstance(variant, dict) else {},
                          str(tags.get(LABEL_TAG, "")), variables, _created_at(entity))

    # -- deployments -------------------------------------------------------------------------------

    def put_deployment(self, deployment: Deployment, model: ModelVersion) -> Deployment:
        entity = self._existing()
        before = self._record(entity)
        existing = next((d for d in before.deployments if d.name == deployment.name), None)
        split = before.split
        busy = split.live.get(deployment.name, 0) or split.mirror.get(deployment.name, 0)
        if existing is not None and busy and not existing.same_release(deployment):
            raise DeploymentInUse(existing, split)
        if existing is not None and existing.same_release(deployment) and self._provisioned(deployment.name):
            return existing
        registry = self._workspace_registry()
        tags = {MODEL_TAG: f"{model.name}:{model.version}", FLOW_TAG: deployment.flow,
                VARIANT_TAG: json.dumps(deployment.variant, sort_keys=True, separators=(",", ":")),
                LABEL_TAG: deployment.variant_label}
        image = workspace_image(registry, self.use_case, model, self.image_digest(model))
        spec = self.flavor.deployment(
            self.block, deployment.name, f"azureml:{model.name}:{model.version}", serving_environment(image, model),
            {SEGMENT_ENV: f"{self.block.CANARY.LOG_SEGMENT_SECONDS:g}", **deployment.env_vars,
             **release_variables(deployment), URL_ENV: self._logs.url}, tags)
        logger.info("creating deployment %s of %s '%s' (model %s version %d); waiting until it answers",
                    deployment.name, self.flavor.described, self.endpoint, model.name, model.version)
        try:
            with _no_poll_dots():
                made = self._client.online_deployments.begin_create_or_update(spec).result()
        except Exception as error:
            if not is_azure_error(error):
                raise
            raise self._not_provisioned(deployment.name, error, split, image, model) from error
        return self._deployment(made)

    def _workspace_registry(self) -> str:
        """The ARM id of the workspace's container registry: where its deployments pull the serving image from."""
        registry = self._call("reading the workspace's container registry",
                              lambda: self._client.workspaces.get(self.access.settings.workspace).container_registry)
        if not registry:
            raise LlmopsError(f"workspace '{self.access.settings.workspace}' has no container registry for the "
                              f"serving image; attach one (az ml workspace update --container-registry <id>)")
        return str(registry)

    def _provisioned(self, name: str) -> bool:
        found = self._call(f"reading deployment '{name}'",
                           lambda: self._client.online_deployments.get(name=name, endpoint_name=self.endpoint))
        return str(found.provisioning_state).lower().endswith("succeeded")

    def _not_provisioned(self, name: str, error: BaseException, split: Split, image: ImageName,
                         model: ModelVersion) -> LlmopsError:
        """One line: why the deployment's operation failed (the service's code and first line), and what to do."""
        from azure.core.exceptions import HttpResponseError

        details = error.error if isinstance(error, HttpResponseError) else None
        code, message = str(getattr(details, "code", "") or ""), str(getattr(details, "message", "") or "")
        first = next((line.strip() for line in message.splitlines() if line.strip()), "").rstrip(".")
        where = f"; traffic is unchanged ({split.describe()})"
        if image_not_pulled(message, image):  # the image was never pushed: the fix is llmops', not the logs'
            return LlmopsError(
                f"deployment '{name}' of {self.flavor.described} '{self.endpoint}' was not provisioned: its image "
                f"{image.reference} is not in the workspace's container registry ({code}); build and push it: llmops "
                f"image build --use-case {self.use_case} --env {self.env} --model-version {model.version} --push, "
                f"then deploy again{where}")
        if code in QUOTA_CODES or "quota" in message.lower():  # nothing ran, so there are no logs to read
            size = self.block.DEPLOYMENT_VM_SIZE or "the default size"
            return LlmopsError(
                f"deployment '{name}' of {self.flavor.described} '{self.endpoint}' was not provisioned: Azure ML "
                f"quota exceeded ({code}): {first}; lower DEPLOYMENT_INSTANCE_COUNT "
                f"({self.block.DEPLOYMENT_INSTANCE_COUNT}) or DEPLOYMENT_VM_SIZE ({size}) in {self.where}, or request "
                f"more quota (Azure portal, Quotas, Machine learning){where}")
        if code and isinstance(error, HttpResponseError) and (error.status_code or 0) < 400:
            said = f"{code}: {first}"  # the operation failed, not the request that started it
        else:
            said = str(azure_error(error, self.access.settings))
        return LlmopsError(f"deployment '{name}' of {self.flavor.described} '{self.endpoint}' was not provisioned: "
                           f"{said}{where}; its logs: {self._logs_command(name)}")

    def _logs_command(self, name: str) -> str:
        s = self.access.settings
        return f"az ml online-deployment get-logs -n {name} -e {self.endpoint} -g {s.resource_group} -w {s.workspace}"

    def remove_deployment(self, name: str) -> None:
        split = self.state().split
        if split.live.get(name, 0) or split.mirror.get(name, 0):
            raise LlmopsError(f"deployment '{name}' of endpoint '{self.endpoint}' still takes traffic "
                              f"({split.describe()}); shift its traffic away first")
        self._call(f"deleting deployment '{name}'", lambda: self._client.online_deployments.begin_delete(
            name=name, endpoint_name=self.endpoint).result())

    # -- scoring -----------------------------------------------------------------------------------

    @cached_property
    def _scoring(self) -> tuple[str, str]:
        entity = self._existing()
        keys = self._call(f"reading the keys of endpoint '{self.endpoint}'",
                          lambda: self._client.online_endpoints.get_keys(self.endpoint))
        return str(entity.scoring_uri), str(keys.primary_key)

    def scoring_url(self) -> str:
        return self._scoring[0]

    def score(self, deployment: str | None, inputs: Any) -> ScoringReply:
        uri, key = self._scoring
        return scoring.score(uri, key, inputs, deployment, probe=True)

    def failure_detail(self, reply: ScoringReply) -> str | None:
        return f"logs: {self._logs_command(reply.deployment)}" if reply.deployment else None

    # -- traffic -----------------------------------------------------------------------------------

    def _put_traffic(self, entity: Any, split: Split, history: list[TrafficMap], what: str) -> None:
        entity.traffic = dict(split.live)
        entity.mirror_traffic = {k: v for k, v in split.mirror.items() if v}
        entity.tags = history_tags.write(entity.tags, history)
        self._call(what, lambda: self._client.online_endpoints.begin_create_or_update(entity).result())

    def set_split(self, split: Split, reason: str) -> TrafficMap:
        self.flavor.check_mirror(split.mirror, f"endpoint '{self.endpoint}'")
        entity = self._existing()
        check_split(split, [d.name for d in self._deployments()], self.endpoint)
        history = self._history(entity)
        active = history_tags.active(history)
        if active and history_tags.same_map(active[0].split, split):
            return active[0]
        history = history_tags.append(history, split, reason)
        self._put_traffic(entity, split, history, f"setting the traffic of endpoint '{self.endpoint}'")
        return history[-1]

    def rollback(self) -> tuple[TrafficMap, TrafficMap]:
        entity = self._existing()
        rolled = history_tags.roll_back(self._history(entity))
        if rolled is None:
            raise LlmopsError(f"endpoint '{self.endpoint}' has no earlier traffic map to roll back to (current: "
                              f"{self._actual(entity).describe()}); set one with: llmops endpoint traffic --set")
        history, undone, restored = rolled
        check_split(restored.split, [d.name for d in self._deployments()], self.endpoint)
        self._put_traffic(entity, restored.split, history, f"rolling back the traffic of endpoint '{self.endpoint}'")
        return undone, restored

    def history(self) -> list[TrafficMap]:
        return self._history(self._existing())
