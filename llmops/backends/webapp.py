"""A web app serving releases from two slots: the records its deployment target (backends/azureml/webapp/) speaks.

App Service runs one container image per slot. `production` is the site itself; `staging` is a deployment slot
beside it with its own URL. The site's URL routes each request by the ramp-up rule of its configuration: a
whole-number percentage goes to the staging slot, the rest to production. As a deployment target
(backends/targets.py) the slots are the deployments, each named by the release it runs (its image's tag), and
the traffic map is the share of the site's requests each release answers: so an A/B release is the new image on
the staging slot (0% of the site's requests), a smoke test on the slot's own URL, then a percentage to the slot
(a split) or a swap of the two slots (the new release takes 100%); a rollback restores the map before.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    variables: dict[str, str] = field(default_factory=dict)  # what the release's records need back (app settings)


@dataclass(frozen=True)
class WebAppRouting:
    """Which release each slot runs and the share of the site's requests the staging slot answers."""

    production: str | None  # the release name on the production slot; None before the first release
    staging: str | None  # the release name on the staging slot; None while there is no slot or it is empty
    staging_percent: int = 0

    @property
    def live(self) -> dict[str, int]:
        """Release name -> percent of the site's requests: the traffic map the site routes by."""
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
