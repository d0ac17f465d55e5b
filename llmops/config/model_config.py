"""The model configuration of a prompty (`model.configuration`) or of a flex flow's init (`model_config`), read
for where its calls go: the connection, the shape of API its client speaks and the model or deployment it names.

The engine replaces every such configuration with one that points at the LLM gateway (its route for the
connection, its per-session key), so the key a configuration would have read (`api_key: ${env:...}`, a
connection's) is never used by the flow: the gateway holds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The connection of a configuration that names none: its endpoint and key would come from `${env:...}`
# references or from the standard variables (AZURE_OPENAI_ENDPOINT, OPENAI_API_KEY...). `.env` defines it as
# any other connection, or by those variables (llmops/llm/connections.py).
DEFAULT_CONNECTION = "default"
AZURE = "azure"  # the Azure OpenAI shape: /openai/deployments/<deployment>/...
OPENAI = "openai"  # the OpenAI shape: /v1/... with the model in the body

_TYPES = {"azure_openai": AZURE, "azureopenai": AZURE, "azure": AZURE, "openai": OPENAI}
# The class names prompt flow gives model configurations and connections, as a flex entry annotates them.
MODEL_CONFIG_CLASSES = {"AzureOpenAIModelConfiguration": AZURE, "OpenAIModelConfiguration": OPENAI}
CONNECTION_CLASSES = {"AzureOpenAIConnection": AZURE, "OpenAIConnection": OPENAI}
# The variables the OpenAI SDK (and prompt flow's model configurations) read an endpoint and key from.
AZURE_VARIABLES = ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_API_VERSION", "OPENAI_API_VERSION",
                   "AZURE_OPENAI_AD_TOKEN")
OPENAI_VARIABLES = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE")
STANDARD_VARIABLES = frozenset((*AZURE_VARIABLES, *OPENAI_VARIABLES))
# Non-secret settings a configuration may carry that the gateway's configuration keeps.
KEPT_SETTINGS = ("api_version", "organization")


@dataclass(frozen=True)
class ModelTarget:
    connection: str
    kind: str  # AZURE or OPENAI
    model: str  # the azure_deployment or model it names (maybe a ${env:NAME} reference); "" when none
    settings: dict[str, str] = field(default_factory=dict)  # KEPT_SETTINGS it gives (maybe references)


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and value.strip().startswith("${")


def model_target(configuration: Any, kind_hint: str = "") -> tuple[ModelTarget | None, str]:
    """(the target, "") or (None, what is wrong with the configuration)."""
    if configuration is None:
        configuration = {}
    if not isinstance(configuration, dict):
        return None, f"a model configuration is a mapping (type, azure_deployment or model, connection), got " \
                     f"{type(configuration).__name__}"
    declared = str(configuration.get("type") or "").lower()
    if declared and declared not in _TYPES:
        return None, f"type '{declared}' is not supported; use azure_openai or openai"
    kind = _TYPES.get(declared) or kind_hint or _kind_from_keys(configuration)
    connection = configuration.get("connection")
    if connection is not None and not isinstance(connection, str):
        return None, "connection: give the connection's name, as .env defines it"
    name = connection.strip() if connection and not is_reference(connection) else DEFAULT_CONNECTION
    model = configuration.get("azure_deployment") if kind == AZURE else configuration.get("model")
    model = model or configuration.get("model") or configuration.get("azure_deployment") or ""
    if not str(model).strip():
        key = "azure_deployment" if kind == AZURE else "model"
        return None, f"names no {key}: the deployment (or model) every call asks for, e.g. {key}: gpt-4o"
    settings = {key: str(configuration[key]) for key in KEPT_SETTINGS if configuration.get(key)}
    return ModelTarget(name, kind, str(model), settings), ""


def _kind_from_keys(configuration: dict[str, Any]) -> str:
    if any(key in configuration for key in ("azure_deployment", "azure_endpoint")):
        return AZURE
    if any(key in configuration for key in ("model", "base_url")):
        return OPENAI
    return AZURE  # prompty's default
