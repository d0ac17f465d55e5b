"""The site's routing: which release each slot runs, the staging slot's share, and the site's tags.

A slot's release is read from its container setting (linuxFxVersion), which a swap moves with the content. The
share is the ramp-up rule of the production site's configuration (experiments.rampUpRules): `reroutePercentage`
of the site's requests go to the rule's `actionHostName`, the staging slot's host. The history of traffic maps is
kept on the site itself, in its tags (backends/traffic_history.py), so a rollback from any machine (a CI runner
keeps nothing) restores the map before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceNotFoundError

from llmops.backends.azureml.http import send_json
from llmops.backends.azureml.webapp.site_spec import release_name
from llmops.backends.azureml.webapp.target import WebAppTarget
from llmops.backends.webapp import STAGING, WebAppRouting

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient

TAGS_API_VERSION = "2021-04-01"


def slot_release(client: WebSiteManagementClient, target: WebAppTarget, slot: str | None) -> str | None:
    """The release `slot` runs (None: the production site); None when the slot does not exist or runs none."""
    try:
        if slot is None:
            config = client.web_apps.get_configuration(target.resource_group, target.name)
        else:
            config = client.web_apps.get_configuration_slot(target.resource_group, target.name, slot)
    except ResourceNotFoundError:
        return None
    return release_name(config.properties.linux_fx_version if config.properties else None)


def staging_percent(client: WebSiteManagementClient, target: WebAppTarget) -> int:
    config = client.web_apps.get_configuration(target.resource_group, target.name)
    experiments = config.properties.experiments if config.properties else None
    rules = (experiments.ramp_up_rules if experiments else None) or []
    return sum(int(rule.reroute_percentage or 0) for rule in rules if (rule.name or "").lower() == STAGING)


def current_routing(client: WebSiteManagementClient, target: WebAppTarget) -> WebAppRouting:
    production = slot_release(client, target, None)
    if production is None:
        return WebAppRouting(None, None, 0)
    staging = slot_release(client, target, STAGING)
    return WebAppRouting(production, staging, staging_percent(client, target) if staging else 0)


def set_staging_percent(client: WebSiteManagementClient, target: WebAppTarget, staging_host: str,
                        percent: int) -> None:
    from azure.mgmt.web import models

    rule = models.RampUpRule(name=STAGING, action_host_name=staging_host, reroute_percentage=float(percent))
    client.web_apps.update_configuration(target.resource_group, target.name, models.SiteConfigResource(
        properties=models.SiteConfig(experiments=models.Experiments(ramp_up_rules=[rule]))))


def site_tags(client: WebSiteManagementClient, target: WebAppTarget) -> dict[str, str]:
    return dict(client.web_apps.get(target.resource_group, target.name).tags or {})


def replace_tags(target: WebAppTarget, credential: TokenCredential, tags: dict[str, str]) -> None:
    """Set the site's tags to `tags` (Tags - Update At Scope, Replace), leaving the site itself untouched."""
    url = (target.settings.cloud.resource_manager.rstrip("/") + target.site_id
           + "/providers/Microsoft.Resources/tags/default")
    send_json("PATCH", url, credential, target.settings.cloud.arm_scope, {"api-version": TAGS_API_VERSION},
              {"operation": "Replace", "properties": {"tags": tags}})
