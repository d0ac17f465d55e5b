"""What a slot runs for a release: the container, the identity it pulls and reads Key Vault with, its settings.

App settings are the container's environment. Connections (CONNECTION_NAMES) and the endpoint's key are Key Vault
references, `@Microsoft.KeyVault(SecretUri=<vault>/secrets/<secret>/)`, which App Service resolves with the
user-assigned identity when the container starts: no value is ever written here, so none is in the app's
configuration, its deployment history or a log. The connection secrets are those Azure ML nodes read
(llmops-connection-<name>, node/vault_connections.py); the key's is llmops-endpoint-key-<web app>. The server ships
its production log to the workspace's production-log container as the user-assigned identity (its client id), a
segment every CANARY.LOG_SEGMENT_SECONDS, named by the slot's release (LLMOPS_DEPLOYMENT), which a swap moves with it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from llmops.backends.azureml.node.vault_connections import secret_name
from llmops.backends.azureml.webapp.target import WebAppTarget
from llmops.backends.production_logs import CLIENT_ID_ENV, SEGMENT_ENV, URL_ENV
from llmops.backends.webapp import WebAppRelease
from llmops.errors import LlmopsError

if TYPE_CHECKING:
    from azure.mgmt.web.models import Site

CONTAINER_PORT = "8080"  # the serving image's EXPOSE (llmops/serving/image/Dockerfile)
HEALTH_PATH = "/health"
KEY_VARIABLE = "LLMOPS_ENDPOINT_KEY"  # llmops/serving/endpoint_key.py's KEY_ENV, which backends cannot import
SETTING_NAME = re.compile(r"^[A-Za-z0-9_.]+$")  # what App Service on Linux accepts as an app setting's name
SITE_KIND = "app,linux,container"
DOCKER_PREFIX = "DOCKER|"


def key_secret_name(target: WebAppTarget) -> str:
    return f"llmops-endpoint-key-{target.name.lower()}"


def key_vault_reference(target: WebAppTarget, secret: str) -> str:
    """The latest version of `secret` (a SecretUri ending in '/'), resolved by App Service, never by llmops."""
    vault = target.settings.cloud.vault_url(target.keyvault)
    return f"@Microsoft.KeyVault(SecretUri={vault}/secrets/{secret}/)"


def app_settings(target: WebAppTarget, release: WebAppRelease, log_url: str, client_id: str) -> dict[str, str]:
    """`log_url`: the production-log container the server ships to as the identity whose client id is `client_id`."""
    bad = [name for name in target.connections if not SETTING_NAME.match(name)]
    if bad:
        raise LlmopsError(f"{target.key('CONNECTION_NAMES')}: '{bad[0]}' cannot be an app setting's name on App "
                          "Service (letters, digits, '_' and '.'); rename the connection in the flow and .env")
    settings = {
        "WEBSITES_PORT": CONTAINER_PORT,
        "WEBSITES_ENABLE_APP_SERVICE_STORAGE": "false",
        **release.variables,
        "LLMOPS_ENDPOINT": target.name,
        "LLMOPS_DEPLOYMENT": release.name,
        KEY_VARIABLE: key_vault_reference(target, key_secret_name(target)),
        URL_ENV: log_url,
        CLIENT_ID_ENV: client_id,
        SEGMENT_ENV: f"{target.segment_s:g}",  # how late `endpoint watch` sees the slot's answers at most
    }
    for name in target.connections:
        settings[name] = key_vault_reference(target, secret_name(name))
    return settings


def release_name(linux_fx_version: str | None) -> str | None:
    """The release a slot runs, from its container setting `DOCKER|<registry>/<repo>:<tag>`: the tag."""
    if not linux_fx_version or not linux_fx_version.upper().startswith(DOCKER_PREFIX):
        return None
    image = linux_fx_version[len(DOCKER_PREFIX):]
    return image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else None


def site_envelope(target: WebAppTarget, release: WebAppRelease, location: str, identity_client_id: str,
                  tags: dict[str, str], log_url: str) -> Site:
    from azure.mgmt.web import models

    config = models.SiteConfig(
        linux_fx_version=DOCKER_PREFIX + release.image,
        acr_use_managed_identity_creds=True,
        acr_user_managed_identity_id=identity_client_id,
        app_settings=[models.NameValuePair(name=k, value=v)
                      for k, v in app_settings(target, release, log_url, identity_client_id).items()],
        always_on=True,
        health_check_path=HEALTH_PATH,
        http20_enabled=True,
        min_tls_version="1.2",
        ftps_state="Disabled",
    )
    return models.Site(
        location=location,
        kind=SITE_KIND,
        tags=tags,
        identity=models.ManagedServiceIdentity(
            type="UserAssigned", user_assigned_identities={target.identity_id: models.UserAssignedIdentity()}),
        properties=models.SiteProperties(
            server_farm_id=target.plan_id, reserved=True, https_only=True,
            key_vault_reference_identity=target.identity_id, site_config=config),
    )
