"""Step: deploy a model version's image to the env's web app (webapp_endpoint) with the local target's A/B rules.

- A first release (the site runs none yet) goes to the production slot and takes 100% once its smoke test passed.
- A later release goes to the staging slot, which takes 0% of the site's requests meanwhile, and is smoke-tested
  there alone (its own URL, TEST_FILE_PATH: status 200 and every flow output, answered by that release). If the
  test fails, the routing is left exactly as it was and StepFailed is raised. If it passes, the site's requests
  move to the configured split: CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION percent to the slot (a ramp-up rule), or,
  at 100, a swap of the slots (the release before stays on the staging slot at 0%, ready to swap back).
- A release onto a staging slot that takes users' requests is refused before anything changes.
- `rollback_webapp` restores the routing the last change replaced.

The image is the one `llmops image build --push` named for the model version (`<registry>/<use case>:<version>-
<hash>`); the web app pulls it with the user-assigned identity.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmops.backends import open_backend
from llmops.backends.serving_image import image_name
from llmops.backends.types import ModelVersion
from llmops.backends.webapp import PRODUCTION, STAGING, WebAppHost, WebAppRelease, WebAppRouting
from llmops.config.deployment_config import WebAppEndpoint
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError, StepFailed
from llmops.serving.endpoint_key import EndpointKey
from llmops.serving.model_flow import model_flow
from llmops.serving.smoke import RequestCheck, check_request, sample_requests

if TYPE_CHECKING:
    from llmops.backends.protocols import Backend

logger = logging.getLogger(__name__)
KEY_NAME = "the web app's key (Key Vault)"  # what a 401 names as the key's source
# App Service's own switch: a request carrying it goes to the production slot whatever the ramp-up rules say.
PRODUCTION_ONLY = "?x-ms-routing-name=self"


@dataclass(frozen=True)
class WebAppDeployResult:
    web_app: str
    release: WebAppRelease
    model: ModelVersion
    smoke: list[RequestCheck]
    routing: WebAppRouting
    scoring_url: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"web_app": self.web_app, "release": self.release.name, "image": self.release.image,
                "model": self.model.name, "model_version": self.model.version, "scoring_url": self.scoring_url,
                "routing": self.routing.to_dict(), "traffic": self.routing.live, "notes": self.notes,
                "smoke_test": [c.describe() for c in self.smoke]}


def webapp_block(use_case: UseCase, env: str) -> WebAppEndpoint:
    block = use_case.deployment.for_env("webapp", env)
    if not isinstance(block, WebAppEndpoint):
        raise LlmopsError(f"use_cases/{use_case.name}/configs/deployment_config.json: webapp_endpoint has no entry for "
                          f"env '{env}'")
    return block


def _model(backend: Backend, use_case: UseCase, env: str, version: int | None) -> ModelVersion:
    name = f"{use_case.name}_{env}"
    return backend.registry.models.latest(name) if version is None else backend.registry.models.get(name, version)


def webapp_release(use_case: UseCase, env: str, model: ModelVersion) -> WebAppRelease:
    """The release of `model`: the image `llmops image build` names for it in the block's registry."""
    image = image_name(webapp_block(use_case, env).REGISTRY_NAME, use_case.name, model.version, model.sha256)
    return WebAppRelease(image.reference, image.tag, model.name, model.version)


def _smoke(host: WebAppHost, url: str, release: WebAppRelease, requests: list[tuple[str, Any]],
           outputs: list[str]) -> list[RequestCheck]:
    key = EndpointKey(KEY_NAME, host.endpoint_key())
    return [check_request(url, label, inputs, outputs, release.name, key) for label, inputs in requests]


def _raise_failed(checks: list[RequestCheck], what: str, consequence: str) -> None:
    failed = [c for c in checks if not c.ok]
    if failed:
        raise StepFailed(f"{what}: " + "; ".join(c.describe() for c in failed) + f"; {consequence}")


def _serving(routing: WebAppRouting) -> dict[str, int]:
    return {name: share for name, share in routing.live.items() if share}


def deploy_webapp(workspace: Workspace, use_case: UseCase, env: str, host: WebAppHost,
                  model_version: int | None = None, backend: Backend | None = None) -> WebAppDeployResult:
    """`host`: the env's web app, which the CLI opens (llmops.backends.webapp_target.open_webapp) with the Azure
    variables it read; `backend`: the env's, for the model version (the latest of `<use case>_<env>` by default)."""
    block = webapp_block(use_case, env)
    model = _model(backend or open_backend(workspace, use_case, env), use_case, env, model_version)
    release = webapp_release(use_case, env, model)
    outputs = list(model_flow(model).outputs)
    requests = sample_requests(use_case.path(block.TEST_FILE_PATH), block.TEST_FILE_PATH)
    before = host.routing()
    notes: list[str] = []
    what = f"release {release.name} (model {model.name} version {model.version})"

    if before.production is None:
        host.provision()
        host.put_release(PRODUCTION, release)
        url = host.scoring_url()
        checks = _smoke(host, url, release, requests, outputs)
        _raise_failed(checks, f"smoke test of {what}, the first release of web app '{host.name}', failed", "no user "
                      "was served before it; the site runs it until a release passes: fix it and deploy again")
        return WebAppDeployResult(host.name, release, model, checks, host.routing(), url, notes)
    if before.production == release.name:
        checks = _smoke(host, host.scoring_url() + PRODUCTION_ONLY, release, requests, outputs)
        _raise_failed(checks, f"smoke test of {what} on the production slot of web app '{host.name}' failed",
                      f"the routing is unchanged ({before.describe()})")
        notes.append(f"{what} already runs on the production slot: tested again, the routing kept")
        return WebAppDeployResult(host.name, release, model, checks, before, host.scoring_url(), notes)

    if before.staging is not None and before.staging != release.name and before.staging_percent > 0:
        raise LlmopsError(
            f"web app '{host.name}': the staging slot serves release {before.staging} to users "
            f"({before.describe()}), and a new release must start at 0%; promote it (set "
            f"CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION to 100 and deploy it again) or roll back first: "
            f"llmops endpoint rollback --use-case {use_case.name} --env {env}")
    if not host.slots_available():
        raise LlmopsError(
            f"use_cases/{use_case.name}/configs/deployment_config.json: webapp_endpoint for env '{env}': WEB_APP_SKU "
            f"'{block.WEB_APP_SKU}' has no deployment slots, which a second release needs (a staging slot at 0%, "
            "smoke-tested, then a split); use a Standard or Premium SKU such as S1 or P1v3")
    if before.staging == release.name:  # a rerun: the slot already runs it, maybe with users on it
        slot_url = host.scoring_url(STAGING)
    else:
        host.provision()
        slot_url = host.put_release(STAGING, release)
    logger.info("web app %s: %s on the staging slot; smoke test with %s", host.name, what, block.TEST_FILE_PATH)
    checks = _smoke(host, slot_url, release, requests, outputs)
    if any(not c.ok for c in checks):
        _raise_failed(checks, f"smoke test of {what} on the staging slot of web app '{host.name}' failed",
                      f"the routing is unchanged ({_describe_serving(host.routing())}): no user request reaches it")
    share = block.current_share
    if share == 100:
        routing = host.swap(f"deploy {model.name} version {model.version}")
    else:
        routing = host.route(share, f"deploy {model.name} version {model.version}")
    return WebAppDeployResult(host.name, release, model, checks, routing, host.scoring_url(), notes)


def _describe_serving(routing: WebAppRouting) -> str:
    serving = _serving(routing)
    return ", ".join(f"{name}={share}" for name, share in sorted(serving.items())) or "no release"


def rollback_webapp(use_case: UseCase, env: str, host: WebAppHost) -> tuple[WebAppRouting, WebAppRouting]:
    """(the routing before, the routing now): the routing the last deploy, split or rollback replaced."""
    webapp_block(use_case, env)
    return host.rollback()


def webapp_scoring(use_case: UseCase, env: str, host: WebAppHost) -> tuple[str, EndpointKey]:
    """The site's scoring URL and its key, for test-endpoint against the web app."""
    webapp_block(use_case, env)
    return host.scoring_url(), EndpointKey(KEY_NAME, host.endpoint_key())
