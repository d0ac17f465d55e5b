"""What a prompty or a flex flow is given instead of its own model configuration: the same model, at the gateway.

The session gives every connection a flow uses as a prompt flow connection dict that points at the gateway
(its route for the connection, tagged with the run, variant, flow and node, and its per-session key:
FlowSession.pf_connections). These turn such a dict into what prompty and flex code take: a model
configuration (prompt flow's public classes), a connection object, or the standard variables.
"""

from __future__ import annotations

import os
import re
from typing import Any

from llmops.config.model_config import STANDARD_VARIABLES, ModelTarget

AZURE_TYPE = "AzureOpenAIConnection"
_ENV_REFERENCE = re.compile(r"^\$\{env:(.*)\}$")


def resolved(value: str) -> str:
    """A non-secret setting (a deployment name, an api version) with its `${env:NAME}` reference read; "" when
    the variable is not set."""
    match = _ENV_REFERENCE.match(value.strip())
    return os.environ.get(match.group(1).strip(), "") if match else value


def model_configuration(connection: dict[str, Any], target: ModelTarget) -> Any:
    """An Azure OpenAI or OpenAI model configuration for `target`'s model, through the gateway."""
    from promptflow.core import AzureOpenAIModelConfiguration, OpenAIModelConfiguration

    value = connection["value"]
    settings = {key: resolved(text) for key, text in target.settings.items()}
    if connection["type"] == AZURE_TYPE:
        return AzureOpenAIModelConfiguration(
            azure_deployment=resolved(target.model), azure_endpoint=value["api_base"], api_key=value["api_key"],
            api_version=settings.get("api_version") or value["api_version"])
    return OpenAIModelConfiguration(model=resolved(target.model), base_url=value["base_url"], api_key=value["api_key"],
                                    organization=settings.get("organization") or None)


def connection_object(connection: dict[str, Any]) -> Any:
    """An AzureOpenAIConnection or OpenAIConnection through the gateway (for an init argument typed as one)."""
    from promptflow.connections import AzureOpenAIConnection, OpenAIConnection

    value = connection["value"]
    if connection["type"] == AZURE_TYPE:
        return AzureOpenAIConnection(api_base=value["api_base"], api_key=value["api_key"],
                                     api_version=value["api_version"])
    return OpenAIConnection(api_key=value["api_key"], base_url=value["base_url"])


def standard_variables(azure: dict[str, Any] | None, openai: dict[str, Any] | None) -> dict[str, str | None]:
    """The standard variables a line sees: at the gateway when the flow reaches it through them, else hidden."""
    values: dict[str, str | None] = dict.fromkeys(STANDARD_VARIABLES)
    if azure is not None:
        value = azure["value"]
        values.update(AZURE_OPENAI_ENDPOINT=value["api_base"], AZURE_OPENAI_API_KEY=value["api_key"],
                      OPENAI_API_VERSION=value["api_version"], AZURE_OPENAI_API_VERSION=value["api_version"])
    if openai is not None:
        value = openai["value"]
        values.update(OPENAI_API_KEY=value["api_key"], OPENAI_BASE_URL=value["base_url"],
                      OPENAI_API_BASE=value["base_url"])
    return values
