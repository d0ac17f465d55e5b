"""Connections from `.env`, in the original template's format:

    aoai={"api_key": "...", "api_base": "https://x.openai.azure.com/", "api_type": "azure", "api_version": "2024-02-01"}
    oai={"api_key": "sk-...", "api_type": "openai"}
    local={"api_key": "none", "api_type": "openai", "base_url": "http://127.0.0.1:8000/v1"}

Keys never leave this module unmasked except toward the gateway's upstream client.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from llmops.errors import LlmopsError

SAMPLE_LINE = ('{name}={{"api_key": "<key>", "api_base": "https://<resource>.openai.azure.com/", '
               '"api_type": "azure", "api_version": "2024-02-01"}}')


@dataclass(frozen=True)
class Connection:
    name: str
    api_type: str  # "azure" or "openai"
    api_key: str
    api_base: str = ""
    api_version: str = ""
    base_url: str = ""
    model: str = ""
    source: str = ".env"

    @property
    def target(self) -> str:
        return self.api_base or self.base_url or "https://api.openai.com/v1"

    @property
    def masked_key(self) -> str:
        return mask(self.api_key)

    def __repr__(self) -> str:  # keeps the key out of logs and tracebacks
        return (f"Connection(name={self.name!r}, api_type={self.api_type!r}, target={self.target!r}, "
                f"key={self.masked_key})")


def mask(secret: str) -> str:
    if not secret:
        return "(none)"
    return "****" + secret[-4:] if len(secret) > 8 else "****"


def _parse(name: str, raw: str, source: str) -> Connection | None:
    text = raw.strip()
    if not text.startswith("{"):
        return None  # an ordinary variable, not a connection
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LlmopsError(f"{source}: {name}: the connection is not valid JSON ({exc.msg} at column {exc.colno}); "
                          f"expected for example {SAMPLE_LINE.format(name=name)}") from None
    if not isinstance(value, dict) or not ({"api_key", "api_type", "api_base", "base_url"} & set(value)):
        return None
    api_type = str(value.get("api_type") or ("azure" if value.get("api_base") else "openai")).lower()
    if api_type not in ("azure", "openai"):
        raise LlmopsError(f"{source}: {name}.api_type: '{api_type}' is not supported; use \"azure\" or \"openai\"")
    if api_type == "azure" and not value.get("api_base"):
        raise LlmopsError(f"{source}: {name}.api_base: an Azure OpenAI connection needs api_base; "
                          f"expected for example {SAMPLE_LINE.format(name=name)}")
    unknown = set(value) - {"api_key", "api_base", "api_type", "api_version", "base_url", "model", "name", "type"}
    if unknown:
        raise LlmopsError(f"{source}: {name}: unknown key(s) {', '.join(sorted(unknown))}; valid: api_key, "
                          "api_base, api_type, api_version, base_url, model")
    return Connection(
        name=name, api_type=api_type, api_key=str(value.get("api_key") or ""),
        api_base=str(value.get("api_base") or ""), api_version=str(value.get("api_version") or "2024-02-01"),
        base_url=str(value.get("base_url") or ""), model=str(value.get("model") or ""), source=source,
    )


def read_connections(env_file: Path | None, environ: Mapping[str, str] | None = None) -> dict[str, Connection]:
    """Connections from the `.env` file, then from the process environment (which wins, as in CI)."""
    from dotenv import dotenv_values

    found: dict[str, Connection] = {}
    if env_file is not None and env_file.is_file():
        for name, raw in dotenv_values(env_file).items():
            conn = _parse(name, raw or "", str(env_file.name))
            if conn:
                found[name] = conn
    for name, raw in (environ or {}).items():
        if raw.lstrip().startswith("{") and ("api_key" in raw or "api_base" in raw):
            conn = _parse(name, raw, "environment")
            if conn:
                found[name] = conn
    return found
