"""The web app as a deployment target (llmops/backends/targets.py): the A/B rules of serving/release.py on two slots.

The slots are the deployments, each named by the release it runs (its image's tag, which the slot's container
setting shows); the traffic map is the share of the site's requests each release answers (WebAppRouting.live).

- put_deployment: the first release creates the site on the production slot (no map is set until its smoke test
  passed); a later one goes to the staging slot, which takes 0% of the site's requests meanwhile. A staging slot
  that serves users another release is refused (DeploymentInUse), as is a second release on a tier without slots,
  before anything changes.
- score: one release alone through its slot's own URL (production: the site's URL with `x-ms-routing-name=self`,
  App Service's switch for it), or the site's URL, routed, as users send.
- set_split: a map giving the staging slot's release 100% swaps the slots (the release before stays on the staging
  slot at 0%, ready to swap back); any other sets the staging slot's percentage.
- The maps are kept in the site's tags (traffic_history.py), so `endpoint rollback` restores the one before from
  any machine, realised the same way; a map naming a release no slot runs any more cannot be restored.
- A release is never deleted: the next one replaces it on the staging slot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from llmops.backends import traffic_history as history_tags
from llmops.backends.azureml import scoring
from llmops.backends.azureml.errors import azure_errors
from llmops.backends.azureml.webapp import routing as site_routing
from llmops.backends.azureml.webapp.host import AzureWebApp
from llmops.backends.endpoints import Deployment, DeploymentInUse, Endpoint, TrafficMap
from llmops.backends.serving_image import image_name
from llmops.backends.targets import LABEL_VARIABLE, WEBAPP, ImageDigest, ScoringReply, release_variables
from llmops.backends.traffic import Split, check_split
from llmops.backends.types import ModelVersion
from llmops.backends.webapp import PRODUCTION, STAGING, WebAppRelease, WebAppRouting
from llmops.errors import LlmopsError

# App Service's own switch: a request carrying it goes to the production slot whatever the ramp-up rules say.
PRODUCTION_ONLY = "?x-ms-routing-name=self"
FLOW_VARIABLE = "LLMOPS_FLOW"


@dataclass
class WebAppDeployTarget:
    host: AzureWebApp
    use_case: str
    env: str
    image_digest: ImageDigest  # names a model version's serving image, as `llmops image build` tagged it
    kind: str = field(default=WEBAPP, init=False)
    # A failed release stays on the staging slot at 0% (its container's log is there to read); the next replaces it.
    removes_failed_release: bool = field(default=False, init=False)

    @property
    def endpoint(self) -> str:
        return self.host.name

    def release(self, model: ModelVersion, deployment: Deployment | None = None) -> WebAppRelease:
        """`model`'s image in the block's registry, as `llmops image build --push` named it."""
        image = image_name(self.host.target.registry, self.use_case, model.version, self.image_digest(model))
        variables = {} if deployment is None else {**release_variables(deployment), FLOW_VARIABLE: deployment.flow,
                                                   LABEL_VARIABLE: deployment.variant_label}
        return WebAppRelease(image.reference, image.tag, model.name, model.version, variables)

    def deployment_name(self, model: ModelVersion) -> str:
        return self.release(model).name

    def scoring_url(self) -> str:
        return self.host.scoring_url()

    def check(self) -> None:
        """The block was checked when the target was opened (webapp_target)."""

    def routing(self) -> WebAppRouting:
        return self.host.routing()

    # -- state -------------------------------------------------------------------------------------

    def _record(self, slot: str, name: str) -> Deployment:
        settings = self.host.settings(slot)
        model_name, _, version = settings.get("LLMOPS_MODEL", "").rpartition(":")
        try:
            variant = json.loads(settings.get("LLMOPS_VARIANT") or "{}")
        except json.JSONDecodeError:
            variant = {}
        return Deployment(self.endpoint, name, model_name, int(version) if version.isdigit() else 0,
                          settings.get(FLOW_VARIABLE, ""), variant if isinstance(variant, dict) else {},
                          settings.get(LABEL_VARIABLE, ""), {}, "", slot)

    def _deployments(self, routing: WebAppRouting) -> tuple[Deployment, ...]:
        slots = ((PRODUCTION, routing.production), (STAGING, routing.staging))
        return tuple(self._record(slot, name) for slot, name in slots if name is not None)

    def _maps(self, routing: WebAppRouting) -> tuple[dict[str, str], list[TrafficMap]]:
        """(the site's tags, its history of maps); a map the site routes by that llmops did not set is recorded
        first, as for an online endpoint."""
        if routing.production is None:
            return {}, []
        with azure_errors(self.host.target.settings):
            tags = site_routing.site_tags(self.host.client, self.host.target)
        stored = history_tags.read(tags)
        # Before the first map is set (the first release's smoke test), the site's routing is no map of its own.
        return tags, history_tags.reconcile(stored, Split(routing.live)) if stored else stored

    def _state(self, routing: WebAppRouting) -> Endpoint:
        _, history = self._maps(routing)
        active = history_tags.active(history)
        traffic = active[0] if active else None
        if traffic is None and routing.production is not None:  # the first release, not yet promised to anyone
            traffic = TrafficMap(0, Split(routing.live), "the site's routing (no map set yet)", False, "")
        return Endpoint(self.endpoint, self.use_case, self.env, WEBAPP, 0, self._deployments(routing), traffic)

    def open(self) -> tuple[Endpoint, list[str]]:
        return self.state(), []

    def state(self) -> Endpoint:
        return self._state(self.routing())

    # -- deployments -------------------------------------------------------------------------------

    def put_deployment(self, deployment: Deployment, model: ModelVersion) -> Deployment:
        release = self.release(model, deployment)
        routing = self.routing()
        target = self.host.target
        if routing.production is None:
            self.host.provision()
            self.host.put_release(PRODUCTION, release)
            return self._record(PRODUCTION, release.name)
        if routing.production == release.name:
            return self._record(PRODUCTION, release.name)
        if routing.staging is not None and routing.staging != release.name and routing.staging_percent > 0:
            state = self._state(routing)
            raise DeploymentInUse(state.deployment(routing.staging), state.split)
        if routing.staging == release.name:  # a rerun: the slot runs it already, maybe with users on it
            return self._record(STAGING, release.name)
        if not self.host.slots_available():
            raise LlmopsError(f"{target.block_key}: WEB_APP_SKU '{target.sku}' has no deployment slots, which a second "
                              "release needs (a staging slot at 0%, smoke-tested, then a split); use a Standard or "
                              "Premium SKU such as S1 or P1v3")
        self.host.provision()
        self.host.put_release(STAGING, release)
        return self._record(STAGING, release.name)

    def remove_deployment(self, name: str) -> None:
        raise LlmopsError(f"web app '{self.endpoint}': release {name} cannot be deleted from its slot; the next "
                          "release replaces it on the staging slot")

    # -- scoring -----------------------------------------------------------------------------------

    @cached_property
    def _key(self) -> str:
        return self.host.endpoint_key()

    def endpoint_key(self) -> str:
        """The key callers send (Authorization: Bearer), read from Key Vault once."""
        return self._key

    def score(self, deployment: str | None, inputs: Any) -> ScoringReply:
        routing = self.routing()
        if deployment is None:
            url = self.host.scoring_url()
        elif deployment == routing.production:
            url = self.host.scoring_url() + PRODUCTION_ONLY
        elif deployment == routing.staging:
            url = self.host.scoring_url(STAGING)
        else:
            return ScoringReply(0, None, f"release {deployment} runs on no slot of web app '{self.endpoint}' "
                                         f"({routing.describe()})", 0.0)
        return scoring.score(url, self._key, inputs, deployment, probe=True)

    def failure_detail(self, reply: ScoringReply) -> str | None:
        slot = " --slot staging" if reply.deployment and reply.deployment == self.routing().staging else ""
        return (f"its container's log: az webapp log tail --name {self.endpoint} --resource-group "
                f"{self.host.target.resource_group}{slot}")

    # -- traffic -----------------------------------------------------------------------------------

    def _realize(self, split: Split, routing: WebAppRouting) -> None:
        """Route the site as `split` says: 100% to the staging slot's release is a swap, any other share a ramp-up."""
        if any(split.mirror.values()):
            raise LlmopsError(f"web app '{self.endpoint}': mirror traffic is not available on a web app; leave "
                              "--mirror out")
        if routing.staging is None:
            return  # one release, on production: it takes every request already
        share = split.live.get(routing.staging, 0)
        if share == 100:
            self.host.swap()
        else:
            self.host.set_staging_percent(share)

    def _keep(self, tags: dict[str, str], history: list[TrafficMap]) -> None:
        with azure_errors(self.host.target.settings):
            site_routing.replace_tags(self.host.target, self.host.credential, history_tags.write(tags, history))

    def set_split(self, split: Split, reason: str) -> TrafficMap:
        routing = self.routing()
        check_split(split, [d for d in (routing.production, routing.staging) if d], self.endpoint)
        tags, history = self._maps(routing)
        active = history_tags.active(history)
        if active and history_tags.same_map(active[0].split, split) and history_tags.same_map(
                Split(routing.live), split):
            return active[0]
        self._realize(split, routing)
        history = history_tags.append(history, split, reason)
        self._keep(tags, history)
        return history[-1]

    def rollback(self) -> tuple[TrafficMap, TrafficMap]:
        routing = self.routing()
        tags, history = self._maps(routing)
        rolled = history_tags.roll_back(history)
        if rolled is None:
            raise LlmopsError(f"web app '{self.endpoint}' has no earlier traffic map to roll back to (current: "
                              f"{routing.describe()}); set one with: llmops endpoint traffic --target webapp --set")
        history, undone, restored = rolled
        running = {routing.production, routing.staging}
        gone = sorted(name for name, share in restored.split.live.items() if share and name not in running)
        if gone:
            raise LlmopsError(f"web app '{self.endpoint}' cannot go back to {restored.split.describe()}: its slots now "
                              f"run other releases ({routing.describe()}); deploy the release to restore instead")
        self._realize(restored.split, routing)
        self._keep(tags, history)
        return undone, restored

    def history(self) -> list[TrafficMap]:
        return self._maps(self.routing())[1]
