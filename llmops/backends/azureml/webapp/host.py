"""One web app for containers (WEB_APP_NAME) with a staging slot, through the management SDK: the slot-level
operations the web app's deployment target (deploy_target.py) is made of.

    host.routing() -> WebAppRouting                        # production/staging releases, staging percent
    host.settings(slot) -> dict[str, str]                  # a slot's app settings (its release's records)
    host.slots_available() -> bool                         # the plan's tier has deployment slots
    host.provision() -> None                               # plan, AcrPull for USER_MANAGED_ID, the key's secret
    host.put_release(slot: str, release: WebAppRelease) -> str   # "production" | "staging"; the slot's scoring URL
    host.scoring_url(slot: str | None = None) -> str       # the site's (routed by percentage) or a slot's
    host.endpoint_key() -> str                             # the key POST /score needs, read from Key Vault
    host.set_staging_percent(percent: int) -> None         # the share of the site's requests the staging slot takes
    host.swap() -> None                                    # staging's release takes production, at 100%

Every Azure failure comes out as one line (errors.py), naming the thing and the fix.
"""

from __future__ import annotations

import logging
import secrets
import ssl
import time
import urllib.error
import urllib.request
from functools import cached_property
from typing import TYPE_CHECKING

from azure.core.credentials import TokenCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from llmops.backends.azureml.access import WorkspaceAccess
from llmops.backends.azureml.credential import azure_credential
from llmops.backends.azureml.errors import azure_errors
from llmops.backends.azureml.http import get_json, send_json
from llmops.backends.azureml.key_vault import API_VERSION as KEY_VAULT_API_VERSION
from llmops.backends.azureml.key_vault import secret_value
from llmops.backends.azureml.production_logs import LogContainer
from llmops.backends.azureml.webapp import identity, routing
from llmops.backends.azureml.webapp.client import web_client
from llmops.backends.azureml.webapp.site_spec import HEALTH_PATH, key_secret_name, site_envelope
from llmops.backends.azureml.webapp.target import WebAppTarget
from llmops.backends.webapp import PRODUCTION, SLOTS, STAGING, WebAppRelease, WebAppRouting
from llmops.errors import LlmopsError

if TYPE_CHECKING:
    from azure.mgmt.web import WebSiteManagementClient

logger = logging.getLogger(__name__)

RESOURCE_GROUP_API_VERSION = "2021-04-01"
START_TIMEOUT_S = 900.0  # a container's first pull and start on App Service can take minutes
HEALTH_POLL_S = 2.0


class AzureWebApp:
    """A web app on Azure App Service, slot by slot."""

    def __init__(self, target: WebAppTarget, credential: TokenCredential | None = None,
                 start_timeout: float = START_TIMEOUT_S) -> None:
        self.target = target
        self._credential = credential
        self.start_timeout = start_timeout
        self._client_id = ""  # the identity's client id, once provision() looked it up

    @property
    def name(self) -> str:
        return self.target.name

    @cached_property
    def credential(self) -> TokenCredential:
        return self._credential or azure_credential(self.target.settings.cloud)

    @cached_property
    def _logs(self) -> LogContainer:
        """Where the server ships its production log: the env's workspace's production-log container."""
        return LogContainer(WorkspaceAccess(self.target.settings, self.credential))

    @cached_property
    def client(self) -> WebSiteManagementClient:
        return web_client(self.target.settings, self.credential)

    # -- reading -------------------------------------------------------------------------------

    def routing(self) -> WebAppRouting:
        with azure_errors(self.target.settings):
            return routing.current_routing(self.client, self.target)

    def settings(self, slot: str) -> dict[str, str]:
        """The slot's app settings as App Service stores them (Key Vault references unresolved); {} when it does not
        exist."""
        t = self.target
        with azure_errors(t.settings):
            try:
                found = (self.client.web_apps.list_application_settings(t.resource_group, t.name) if slot == PRODUCTION
                         else self.client.web_apps.list_application_settings_slot(t.resource_group, t.name, slot))
            except ResourceNotFoundError:
                return {}
        return dict(found.properties or {})

    def slots_available(self) -> bool:
        with azure_errors(self.target.settings):
            try:
                plan = self.client.app_service_plans.get(self.target.resource_group, self.target.plan)
            except ResourceNotFoundError:
                return self.target.has_slots
        tier = (plan.sku.tier or "") if plan.sku else ""
        return tier.lower() not in ("free", "shared", "basic")

    def _host(self, slot: str | None) -> str:
        t = self.target
        try:
            site = (self.client.web_apps.get(t.resource_group, t.name) if slot in (None, PRODUCTION)
                    else self.client.web_apps.get_slot(t.resource_group, t.name, str(slot)))
        except ResourceNotFoundError:
            where = f"slot '{slot}' of web app" if slot not in (None, PRODUCTION) else "web app"
            raise LlmopsError(f"{where} '{t.name}' does not exist in resource group '{t.resource_group}'; deploy "
                              "a release first") from None
        if not site.default_host_name:
            raise LlmopsError(f"web app '{t.name}' has no host name yet; run the deploy again")
        return str(site.default_host_name)

    def scoring_url(self, slot: str | None = None) -> str:
        with azure_errors(self.target.settings):
            return f"https://{self._host(slot)}/score"

    def endpoint_key(self) -> str:
        t, cloud = self.target, self.target.settings.cloud
        with azure_errors(t.settings):
            value = secret_value(cloud.vault_url(t.keyvault), cloud.keyvault_scope, key_secret_name(t),
                                 self.credential)
        if not value:
            raise LlmopsError(f"key vault '{t.keyvault}' has no secret '{key_secret_name(t)}', the key of web app "
                              f"'{t.name}'; deploy a release first (it creates one)")
        return value

    # -- provisioning ----------------------------------------------------------------------------

    def _location(self) -> str:
        t = self.target
        url = (t.settings.cloud.resource_manager.rstrip("/") + f"/subscriptions/{t.subscription}/resourcegroups/"
               f"{t.resource_group}")
        try:
            found = get_json(url, self.credential, t.settings.cloud.arm_scope,
                             {"api-version": RESOURCE_GROUP_API_VERSION})
        except ResourceNotFoundError:
            raise LlmopsError(f"{t.key('WEB_APP_RG_NAME')}: no resource group '{t.resource_group}' in subscription "
                              f"{t.subscription}; create it: az group create --name {t.resource_group} "
                              "--location <region>") from None
        return str(found["location"])

    @cached_property
    def location(self) -> str:
        with azure_errors(self.target.settings):
            return self._location()

    def _ensure_plan(self) -> None:
        from azure.mgmt.web import models

        t = self.target
        plan = models.AppServicePlan(location=self.location, kind="linux",
                                     sku=models.SkuDescription(name=t.sku, capacity=1),
                                     properties=models.AppServicePlanProperties(reserved=True))
        self.client.app_service_plans.begin_create_or_update(t.resource_group, t.plan, plan).result()

    def _ensure_key_secret(self) -> None:
        t, cloud = self.target, self.target.settings.cloud
        vault, name = cloud.vault_url(t.keyvault), key_secret_name(t)
        if secret_value(vault, cloud.keyvault_scope, name, self.credential):
            return
        try:
            send_json("PUT", f"{vault}/secrets/{name}", self.credential, cloud.keyvault_scope,
                      {"api-version": KEY_VAULT_API_VERSION},
                      {"value": secrets.token_urlsafe(32), "contentType": "llmops endpoint key"})
        except HttpResponseError as error:
            if error.status_code == 403:
                raise LlmopsError(f"web app '{t.name}' needs its endpoint key in key vault '{t.keyvault}' and you may "
                                  "not write secrets there; ask someone who may (Key Vault Secrets Officer) to run: "
                                  f"az keyvault secret set --vault-name {t.keyvault} --name {name} --value "
                                  '"$(openssl rand -base64 32)"') from error
            raise
        logger.info("created the endpoint key of web app %s as secret %s in key vault %s", t.name, name, t.keyvault)

    def provision(self) -> None:
        t = self.target
        with azure_errors(t.settings):
            user = identity.user_identity(t, self.credential)
            registry = identity.registry(t, self.credential)
            identity.grant_acr_pull(t, self.credential, user, registry.resource_id)
            if self._logs.ensure():
                logger.info("created blob container %s for the production log", self._logs.url)
            identity.grant_log_writer(t, self.credential, user, self._logs.scope)
            self._ensure_plan()
            self._ensure_key_secret()
        self._client_id = user.client_id

    # -- releasing -------------------------------------------------------------------------------

    def put_release(self, slot: str, release: WebAppRelease) -> str:
        if slot not in SLOTS:
            raise LlmopsError(f"unknown slot '{slot}'; slots: {', '.join(SLOTS)}")
        t = self.target
        with azure_errors(t.settings):
            client_id = self._client_id or identity.user_identity(t, self.credential).client_id
            web = self.client.web_apps
            if slot == PRODUCTION:
                try:
                    tags = dict(web.get(t.resource_group, t.name).tags or {})
                except ResourceNotFoundError:
                    tags = {}
                web.begin_create_or_update(t.resource_group, t.name,
                                           site_envelope(t, release, self.location, client_id, tags,
                                                         self._logs.url)).result()
            else:
                web.begin_create_or_update_slot(t.resource_group, t.name, slot,
                                                site_envelope(t, release, self.location, client_id, {},
                                                              self._logs.url)).result()
            host = self._host(slot)
        logger.info("web app %s: %s runs %s (%s)", t.name, slot, release.name, release.image)
        self._wait_healthy(f"https://{host}{HEALTH_PATH}", slot, release)
        return f"https://{host}/score"

    def _wait_healthy(self, url: str, slot: str, release: WebAppRelease) -> None:
        context = ssl.create_default_context()
        deadline = time.monotonic() + self.start_timeout
        last = "no answer yet"
        while True:
            try:
                with urllib.request.urlopen(url, timeout=10, context=context) as answer:  # noqa: S310 (https only)
                    if answer.status == 200:
                        return
                    last = f"status {answer.status}"
            except urllib.error.HTTPError as error:
                last = f"status {error.code}"
            except OSError as error:
                last = str(error)
            if time.monotonic() >= deadline:
                raise LlmopsError(f"web app '{self.name}' slot {slot}: release {release.name} did not answer "
                                  f"{url} within {self.start_timeout:.0f} s ({last}); see the container's log: "
                                  f"az webapp log tail --name {self.name} --resource-group "
                                  f"{self.target.resource_group}" + ("" if slot == PRODUCTION else f" --slot {slot}"))
            time.sleep(HEALTH_POLL_S)

    # -- routing ---------------------------------------------------------------------------------

    def set_staging_percent(self, percent: int) -> None:
        if not 0 <= percent <= 100:
            raise LlmopsError(f"a slot's share must be a whole number from 0 to 100, got {percent}")
        with azure_errors(self.target.settings):
            routing.set_staging_percent(self.client, self.target, self._host(STAGING), percent)

    def swap(self) -> None:
        """The slots' releases change places (the container and its settings move); the staging slot then takes 0%."""
        from azure.mgmt.web import models

        t = self.target
        with azure_errors(t.settings):
            self.client.web_apps.begin_swap_slot(t.resource_group, t.name, STAGING, models.CsmSlotEntity(
                target_slot=PRODUCTION, preserve_vnet=True)).result()
        self.set_staging_percent(0)
