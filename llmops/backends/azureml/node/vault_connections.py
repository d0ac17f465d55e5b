"""Connections from Key Vault: one secret per connection a flow names, `llmops-connection-<name>` (Key Vault
names allow letters, digits and dashes, so underscores become dashes), whose value is the JSON a `.env` line
holds for it (llmops/llm/connections.py parses both alike).

The laptop (or CI runner) reads them to choose each connection's provider and key its runs, as it would
from .env; each node reads them again through the compute's own identity. No key travels in a job
definition, an environment variable, a log or an output.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from azure.core.credentials import TokenCredential

from llmops.backends.azureml.key_vault import secret_value
from llmops.backends.azureml.node.manifest import VaultPlan
from llmops.errors import LlmopsError
from llmops.llm.connections import Connection, parse_connection

SECRET_PREFIX = "llmops-connection-"


def secret_name(connection: str) -> str:
    return SECRET_PREFIX + re.sub(r"[^A-Za-z0-9-]", "-", connection)


def missing_secret(vault: str, connection: str) -> LlmopsError:
    secret = secret_name(connection)
    return LlmopsError(
        f"key vault '{vault}' has no secret '{secret}' for connection '{connection}', which Azure ML nodes read "
        f"its key from: az keyvault secret set --vault-name {vault} --name {secret} --value "
        f"'<the JSON of its .env line>', or run with --provider replay")


def vault_connections(vault: VaultPlan, names: Iterable[str], credential: TokenCredential,
                      required: bool = True) -> dict[str, Connection]:
    """The connections `names` from the vault; a missing secret is an error when `required`, else left out."""
    found = {}
    for name in names:
        secret = secret_name(name)
        value = secret_value(vault.url, vault.scope, secret, credential)
        if value is None:
            if required:
                raise missing_secret(vault.name, name)
            continue
        found[name] = parse_connection(name, value, f"key vault '{vault.name}' secret {secret}")
    return found
