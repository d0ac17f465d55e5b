"""The web app an env deploys to: its webapp_endpoint block and the env's Azure settings, checked and resolved once.

Every problem is reported at once, each naming the file and key and what to set. The names follow Azure's rules
(a web app's name is its host name, so 2 to 60 letters, digits and hyphens), and the names the block leaves to
defaults are derived from WEB_APP_NAME: the plan `<app>-plan`, the registry's resource group WEB_APP_RG_NAME.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llmops.backends.azureml.settings import AzureSettings
from llmops.backends.production_logs import segment_seconds
from llmops.config.deployment_config import WebAppEndpoint
from llmops.config.problems import display_path
from llmops.config.use_case import CONFIG_FILES, UseCase
from llmops.errors import LlmopsError

SITE_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,58}[A-Za-z0-9])?$")
PLAN_NAME = re.compile(r"^[A-Za-z0-9-]{1,60}$")
REGISTRY_NAME = re.compile(r"^[A-Za-z0-9]{5,50}$")
RESOURCE_GROUP = re.compile(r"^[-\w._()]{1,90}$")
IDENTITY_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.ManagedIdentity/userAssignedIdentities/[^/]+$",
    re.IGNORECASE)
# App Service SKUs by their first letters: F1 Free, D1 Shared, B1-B3 Basic, S1-S3 Standard, P1v2..P3v3 and
# P1mv3.. Premium, I1v2.. Isolated. Deployment slots exist from Standard up.
SKU = re.compile(r"^(F1|D1|B[1-3]|S[1-3]|P[0-5]m?v[23]|I[1-6]m?v2|P[1-3])$", re.IGNORECASE)
TIERS_WITHOUT_SLOTS = ("F", "D", "B")


@dataclass(frozen=True)
class WebAppTarget:
    settings: AzureSettings  # the env's subscription, cloud and Key Vault
    name: str  # WEB_APP_NAME
    resource_group: str  # WEB_APP_RG_NAME
    plan: str  # APP_PLAN_NAME
    sku: str  # WEB_APP_SKU, upper case but for the v in P1v3
    registry: str  # REGISTRY_NAME
    registry_group: str  # REGISTRY_RG_NAME, else WEB_APP_RG_NAME
    identity_id: str  # the user-assigned identity's resource id
    connections: tuple[str, ...]  # CONNECTION_NAMES
    segment_s: float  # CANARY.LOG_SEGMENT_SECONDS: how often each slot's server ships its production log
    block_key: str  # "use_cases/x/configs/deployment_config.json: webapp_endpoint[0]", for messages

    @property
    def subscription(self) -> str:
        return self.settings.subscription_id

    @property
    def keyvault(self) -> str:
        return self.settings.keyvault

    @property
    def site_id(self) -> str:
        return (f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}/providers/Microsoft.Web/"
                f"sites/{self.name}")

    @property
    def plan_id(self) -> str:
        return (f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}/providers/Microsoft.Web/"
                f"serverfarms/{self.plan}")

    @property
    def registry_id(self) -> str:
        return (f"/subscriptions/{self.subscription}/resourceGroups/{self.registry_group}/providers/"
                f"Microsoft.ContainerRegistry/registries/{self.registry}")

    @property
    def has_slots(self) -> bool:
        return not self.sku.upper().startswith(TIERS_WITHOUT_SLOTS)

    def key(self, name: str) -> str:
        return f"{self.block_key}.{name}"


def _sku(value: str) -> str:
    text = value.strip().upper()
    return re.sub(r"M?V([23])$", lambda m: m.group(0).lower(), text)


def webapp_target(use_case: UseCase, env: str, settings: AzureSettings) -> WebAppTarget:
    """The env's web app, or one LlmopsError naming every key to fix."""
    blocks = use_case.deployment.webapp_endpoint
    index = next((i for i, b in enumerate(blocks) if b.ENV_NAME == env), None)
    file = display_path(use_case.folder / CONFIG_FILES["deployment"], use_case.root)
    if index is None:
        raise LlmopsError(f"{file}: webapp_endpoint has no entry for env '{env}'; add one with ENV_NAME '{env}', "
                          "WEB_APP_NAME, WEB_APP_RG_NAME, APP_PLAN_NAME, REGISTRY_NAME and USER_MANAGED_ID")
    block: WebAppEndpoint = blocks[index]
    block_key = f"{file}: webapp_endpoint[{index}]"
    problems: list[str] = []

    def need(key: str, value: str, rule: re.Pattern[str], what: str) -> str:
        text = value.strip()
        if not text:
            problems.append(f"{block_key}.{key}: empty; set it to {what}")
        elif not rule.match(text):
            problems.append(f"{block_key}.{key}: '{text}' is not {what}")
        return text

    name = need("WEB_APP_NAME", block.WEB_APP_NAME, SITE_NAME,
                "the web app's name (2 to 60 letters, digits and hyphens; it is the app's host name)")
    group = need("WEB_APP_RG_NAME", block.WEB_APP_RG_NAME, RESOURCE_GROUP, "the web app's resource group")
    plan = need("APP_PLAN_NAME", block.APP_PLAN_NAME, PLAN_NAME,
                "the App Service plan's name (letters, digits and hyphens)")
    registry = need("REGISTRY_NAME", block.REGISTRY_NAME, REGISTRY_NAME,
                    "the Azure Container Registry's name (5 to 50 letters and digits)")
    sku = need("WEB_APP_SKU", block.WEB_APP_SKU, SKU, "an App Service plan SKU such as S1 or P1v3")
    registry_group = block.REGISTRY_RG_NAME.strip() or group
    identity = block.USER_MANAGED_ID.strip()
    if not identity:
        problems.append(f"{block_key}.USER_MANAGED_ID: empty; set it to the user-assigned identity the web app pulls "
                        "its image and reads Key Vault with (its name in WEB_APP_RG_NAME, or its resource id)")
    elif identity.startswith("/"):
        if not IDENTITY_ID.match(identity):
            problems.append(f"{block_key}.USER_MANAGED_ID: '{identity}' is not a user-assigned identity's resource "
                            "id (/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ManagedIdentity/"
                            "userAssignedIdentities/<name>)")
    elif group:
        identity = (f"/subscriptions/{settings.subscription_id}/resourceGroups/{group}/providers/"
                    f"Microsoft.ManagedIdentity/userAssignedIdentities/{identity}")
    if not settings.keyvault:
        problems.append(f"{settings.keys('KEYVAULT_NAME')}: empty; a web app reads its connections and its key as "
                        "Key Vault references: name the vault holding the llmops-connection-<name> secrets")
    elif not settings.cloud.keyvault_url:
        problems.append(f"the cloud '{settings.cloud.name}' names no Key Vault URL: add keyvault_url and "
                        "keyvault_resource to LLMOPS_AZURE_CLOUD_METADATA")
    if problems:
        raise LlmopsError("\n".join(problems))
    return WebAppTarget(settings, name, group, plan, _sku(sku), registry, registry_group, identity,
                        tuple(block.CONNECTION_NAMES), segment_seconds(block), block_key)
