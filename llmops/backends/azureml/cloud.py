"""The Azure cloud a workspace lives in: its endpoints, by a name azure-ai-ml knows or from metadata.

`LLMOPS_AZURE_CLOUD` names it: AzureCloud (the default), AzureChinaCloud or AzureUSGovernment. A cloud
azure-ai-ml does not know (Azure Stack Hub, a test's emulator) gets a name of its own there and its
endpoints in `LLMOPS_AZURE_CLOUD_METADATA`, a JSON object with the keys of azure-ai-ml's `cloud_metadata`
(azure_portal, resource_manager, active_directory, aml_resource_id, storage_endpoint,
registry_discovery_endpoint) and, when an env names a Key Vault, `keyvault_url` (the vault's URL with
`{name}` for its name, e.g. `https://{name}.vault.azure.net`) and `keyvault_resource` (the audience of
its tokens, e.g. `https://vault.azure.net`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_CLOUD = "AzureCloud"
SDK_KEYS = (
    "azure_portal",
    "resource_manager",
    "active_directory",
    "aml_resource_id",
    "storage_endpoint",
    "registry_discovery_endpoint",
)
KEY_VAULT_KEYS = ("keyvault_url", "keyvault_resource")


@dataclass(frozen=True)
class AzureCloud:
    name: str
    resource_manager: str
    active_directory: str
    aml_resource_id: str
    keyvault_url: str = ""  # "{name}" stands for the vault's name; "" when the metadata gave none
    keyvault_resource: str = ""
    metadata: Mapping[str, str] | None = field(default=None, compare=False)  # custom clouds: for MLClient

    @property
    def arm_scope(self) -> str:
        """The scope of every ARM call (what MLClient asks tokens for)."""
        return self.resource_manager.rstrip("/") + "/.default"

    @property
    def aml_scope(self) -> str:
        """The scope of Azure ML's own data plane (pipeline submission, run history)."""
        return self.aml_resource_id.rstrip("/") + "/.default"

    @property
    def keyvault_scope(self) -> str:
        return self.keyvault_resource.rstrip("/") + "/.default"

    def vault_url(self, name: str) -> str:
        return self.keyvault_url.replace("{name}", name).rstrip("/")


KNOWN_CLOUDS = {
    "AzureCloud": AzureCloud(
        "AzureCloud",
        "https://management.azure.com/",
        "https://login.microsoftonline.com/",
        "https://ml.azure.com/",
        "https://{name}.vault.azure.net",
        "https://vault.azure.net",
    ),
    "AzureChinaCloud": AzureCloud(
        "AzureChinaCloud",
        "https://management.chinacloudapi.cn/",
        "https://login.chinacloudapi.cn/",
        "https://ml.azure.cn/",
        "https://{name}.vault.azure.cn",
        "https://vault.azure.cn",
    ),
    "AzureUSGovernment": AzureCloud(
        "AzureUSGovernment",
        "https://management.usgovcloudapi.net/",
        "https://login.microsoftonline.us/",
        "https://ml.azure.us/",
        "https://{name}.vault.usgovcloudapi.net",
        "https://vault.usgovcloudapi.net",
    ),
}
_KNOWN_NAMES = ", ".join(sorted(KNOWN_CLOUDS))


def read_cloud(name: str, metadata_json: str, problems: list[str]) -> AzureCloud | None:
    """The cloud LLMOPS_AZURE_CLOUD and LLMOPS_AZURE_CLOUD_METADATA describe; None (and problems) if none fits."""
    name = name.strip()
    if not metadata_json.strip():
        cloud = KNOWN_CLOUDS.get(name or DEFAULT_CLOUD)
        if cloud is None:
            problems.append(
                f"LLMOPS_AZURE_CLOUD is '{name}': not a cloud azure-ai-ml knows; valid: {_KNOWN_NAMES}, or a name "
                "of your own with its endpoints in LLMOPS_AZURE_CLOUD_METADATA (a JSON object)"
            )
        return cloud
    if not name or name in KNOWN_CLOUDS:
        given = f"is '{name}', a cloud azure-ai-ml knows and keeps the endpoints of" if name else "is not set"
        problems.append(
            f"LLMOPS_AZURE_CLOUD_METADATA is set but LLMOPS_AZURE_CLOUD {given}: give the custom cloud a name of "
            f"its own (not {_KNOWN_NAMES})"
        )
        return None
    try:
        metadata = json.loads(metadata_json)
    except json.JSONDecodeError as error:
        metadata = error
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        problems.append(
            "LLMOPS_AZURE_CLOUD_METADATA: not a JSON object of endpoint strings; give it as "
            '{"resource_manager": "https://...", "active_directory": "https://...", ...} with the keys '
            + ", ".join(SDK_KEYS)
        )
        return None
    missing = [key for key in SDK_KEYS if not metadata.get(key)]
    if missing:
        problems.append(f"LLMOPS_AZURE_CLOUD_METADATA: {', '.join(missing)} missing; azure-ai-ml needs every one of "
                        f"{', '.join(SDK_KEYS)} to reach cloud '{name}'")
        return None
    return AzureCloud(
        name,
        metadata["resource_manager"],
        metadata["active_directory"],
        metadata["aml_resource_id"],
        metadata.get("keyvault_url", ""),
        metadata.get("keyvault_resource", ""),
        metadata=dict(metadata),
    )
