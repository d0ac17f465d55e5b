"""A web app serving releases from two slots: what the deploy step asks of it and the records it answers with.

App Service runs one container image per slot. `production` is the site itself; `staging` is a deployment slot
beside it with its own URL. The site's URL routes each request by the ramp-up rule of its configuration: a
whole-number percentage goes to the staging slot, the rest to production. So an A/B release is: the new image on
the staging slot (0% of the site's requests), a smoke test on the slot's own URL, then a percentage to the slot
(a split) or a swap of the two slots (the new release takes 100%); and a rollback routes back to the map before.

The implementation (llmops/backends/azureml/webapp/) speaks to Azure through the management SDK for web apps;
this module imports no backend, so a step sees only these records and the protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

PRODUCTION = "production"
STAGING = "staging"
SLOTS = (PRODUCTION, STAGING)


@dataclass(frozen=True)
class WebAppRelease:
    """One model version's image, as a slot runs it."""

    image: str  # the full reference: <registry>.azurecr.io/<use case>:<version>-<hash>
    name: str  # the deployment name the server answers with (azureml-model-deployment): the image's tag
    model_name: str
    model_version: int


@dataclass(frozen=True)
class WebAppRouting:
    """Which release each slot runs and the share of the site's requests the staging slot answers."""

    production: str | None  # the release name on the production slot; None before the first release
    staging: str | None  # the release name on the staging slot; None while there is no slot or it is empty
    staging_percent: int = 0

    @property
    def live(self) -> dict[str, int]:
        """Release name -> percent of the site's requests, as the local endpoint's traffic map reads."""
        shares: dict[str, int] = {}
        if self.production is not None:
            shares[self.production] = 100 - self.staging_percent
        if self.staging is not None:
            shares[self.staging] = shares.get(self.staging, 0) + self.staging_percent
        return shares

    def describe(self) -> str:
        if self.production is None:
            return "no release"
        text = f"production {self.production} {100 - self.staging_percent}%"
        if self.staging is not None:
            text += f", staging {self.staging} {self.staging_percent}%"
        return text

    def to_dict(self) -> dict[str, object]:
        return {"production": self.production, "staging": self.staging, "staging_percent": self.staging_percent}


class WebAppHost(Protocol):
    """The operations of one web app (WEB_APP_NAME) that an A/B release needs; each raises LlmopsError on failure.

    A call that changes nothing the users see (`provision`, `put_release` on staging) never touches the routing;
    `route`, `swap` and `rollback` change only the routing, and each keeps the routing it replaced for
    `rollback`."""

    @property
    def name(self) -> str: ...

    def routing(self) -> WebAppRouting:
        """The routing now; `production` None when the site does not exist yet."""
        ...

    def slots_available(self) -> bool:
        """Whether the plan's tier has deployment slots (Standard and above): what a second release needs."""
        ...

    def provision(self) -> None:
        """The App Service plan (Linux, WEB_APP_SKU), the user-assigned identity allowed to pull from the registry
        (AcrPull), and the endpoint key's secret in Key Vault: created when missing, else left as they are."""
        ...

    def put_release(self, slot: str, release: WebAppRelease) -> str:
        """Run `release` on `slot` (production creates the site), with connections as Key Vault references;
        returns the slot's own scoring URL once the slot answers /health, or raises with why it did not start."""
        ...

    def scoring_url(self, slot: str | None = None) -> str:
        """The site's scoring URL (routed by the percentage), or a slot's own."""
        ...

    def endpoint_key(self) -> str:
        """The key POST /score requires (from Key Vault, never stored elsewhere)."""
        ...

    def route(self, staging_percent: int, reason: str) -> WebAppRouting:
        """Send `staging_percent` of the site's requests to the staging slot."""
        ...

    def swap(self, reason: str) -> WebAppRouting:
        """Swap the slots: staging's release takes production (100%), production's goes to staging at 0%."""
        ...

    def rollback(self) -> tuple[WebAppRouting, WebAppRouting]:
        """Restore the routing the last route/swap/rollback replaced; (the routing before, the routing now)."""
        ...
