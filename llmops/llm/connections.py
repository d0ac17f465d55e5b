"""Connections from `.env`, in the original template's format:

    aoai={"api_key": "...", "api_base": "https://x.openai.azure.com/", "api_type": "azure", "api_version": "2024-02-01"}
    oai={"api_key": "sk-...", "api_type": "openai"}
    local={"api_key": "none", "api_type": "openai", "base_url": "http://127.0.0.1:8000/v1"}

A line whose value is JSON (or that python-dotenv cannot read and holds JSON) is a connection: one that
cannot be used is an error naming the line, never silently skipped, which would quietly swap the
provider for the embedded model. Keys never leave this module unmasked except toward the gateway's
upstream client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from llmops.config.model_config import DEFAULT_CONNECTION, STANDARD_VARIABLES
from llmops.config.nearest_name import did_you_mean
from llmops.errors import LlmopsError
from llmops.llm.env_file import EnvEntry, UnreadableLine, read_env_file

logger = logging.getLogger(__name__)

SAMPLE_LINE = ('{name}={{"api_key": "<key>", "api_base": "https://<resource>.openai.azure.com/", '
               '"api_type": "azure", "api_version": "2024-02-01"}}')
_FIELDS = ("api_key", "api_base", "api_type", "api_version", "base_url", "model")
_IGNORED_FIELDS = ("name", "type")  # fields of prompt flow's connection files, harmless here
_URL_EXAMPLES = {"api_base": ("the resource's", "https://<resource>.openai.azure.com/"),
                 "base_url": ("the server's", "http://127.0.0.1:8000/v1")}


@dataclass(frozen=True)
class Connection:
    name: str
    api_type: str  # "azure" or "openai"
    api_key: str
    api_base: str = ""
    api_version: str = ""
    base_url: str = ""
    model: str = ""
    source: str = ".env"  # where it is defined, for messages: ".env line 3", "environment variable aoai"

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


def read_connections(env_file: Path | None, environ: Mapping[str, str] | None = None) -> dict[str, Connection]:
    """Connections from the `.env` file, then from the process environment (which wins, as in CI).

    The connection `default` (of flows whose model configuration names none) may also come from the standard
    variables prompt flow's examples set: AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY (with OPENAI_API_VERSION),
    or OPENAI_API_KEY (with OPENAI_BASE_URL), in `.env` or the environment; a `default={...}` line wins.
    """
    found: dict[str, Connection] = {}
    standard: dict[str, tuple[str, str]] = {}  # variable -> (value, where it is set)
    if env_file is not None and env_file.is_file():
        entries, unreadable = read_env_file(env_file)
        for line in unreadable:
            _check_unreadable(line, env_file.name)
        for entry in entries:
            if entry.value.lstrip().startswith(("{", "[")):
                found[entry.key] = parse_connection(entry.key, entry.value, f"{env_file.name} line {entry.line}",
                                                    _comment_hint(entry))
            elif entry.key in STANDARD_VARIABLES and entry.value.strip():
                standard[entry.key] = (entry.value.strip(), f"{env_file.name} line {entry.line}")
    for name, raw in (environ or {}).items():
        if name in STANDARD_VARIABLES and raw.strip():
            standard[name] = (raw.strip(), f"environment variable {name}")
        # The environment holds JSON of other tools too (AZURE_CREDENTIALS...): only connection-like values count.
        elif raw.lstrip().startswith("{") and ("api_key" in raw or "api_base" in raw):
            found[name] = parse_connection(name, raw, f"environment variable {name}")
    if DEFAULT_CONNECTION not in found:
        default = _from_standard_variables(standard)
        if default is not None:
            found[DEFAULT_CONNECTION] = default
    return found


def _from_standard_variables(variables: dict[str, tuple[str, str]]) -> Connection | None:
    def value(name: str) -> str:
        return variables.get(name, ("", ""))[0]

    if value("AZURE_OPENAI_ENDPOINT") and value("AZURE_OPENAI_API_KEY"):
        fields = {"api_type": "azure", "api_key": value("AZURE_OPENAI_API_KEY"),
                  "api_base": value("AZURE_OPENAI_ENDPOINT"),
                  "api_version": value("OPENAI_API_VERSION") or value("AZURE_OPENAI_API_VERSION") or "2024-02-01"}
        where = variables["AZURE_OPENAI_ENDPOINT"][1]
    elif value("OPENAI_API_KEY"):
        fields = {"api_type": "openai", "api_key": value("OPENAI_API_KEY"),
                  "base_url": value("OPENAI_BASE_URL") or value("OPENAI_API_BASE")}
        where = variables["OPENAI_API_KEY"][1]
    else:
        return None
    return parse_connection(DEFAULT_CONNECTION, json.dumps(fields), f"{where} (the standard variables)")


def parse_connection(name: str, raw: str, where: str, json_hint: str = "") -> Connection:
    """The connection in `raw` (JSON); an LlmopsError naming `where` when it cannot be used."""
    example = SAMPLE_LINE.format(name=name)
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        fix = json_hint or "write one JSON object on one line"
        raise LlmopsError(f"{where}: {name}: not valid JSON ({exc.msg.removesuffix(' at')} at column {exc.colno}); "
                          f"{fix}, e.g. {example}") from None
    if not isinstance(value, dict):
        kind = "JSON array" if isinstance(value, list) else f"JSON {type(value).__name__}"
        raise LlmopsError(f"{where}: {name}: a {kind} is not a connection; write one JSON object, e.g. {example}")
    if "api_key" not in value:
        raise LlmopsError(f'{where}: {name}.api_key: missing; every connection needs one ("none" for a server '
                          f"that takes no key), e.g. {example}")
    unknown = sorted(set(value) - {*_FIELDS, *_IGNORED_FIELDS})
    if unknown:
        guess = did_you_mean(unknown[0], _FIELDS) if len(unknown) == 1 else ""
        raise LlmopsError(f"{where}: {name}: unknown key(s) {', '.join(unknown)}; {guess}valid: {', '.join(_FIELDS)}")
    api_type = str(value.get("api_type") or ("azure" if value.get("api_base") else "openai")).lower()
    if api_type not in ("azure", "openai"):
        raise LlmopsError(f"{where}: {name}.api_type: '{api_type}' is not supported; use \"azure\" or \"openai\"")
    if api_type == "azure" and not value.get("api_base"):
        raise LlmopsError(f"{where}: {name}.api_base: an Azure OpenAI connection needs api_base; e.g. {example}")
    for field, (whose, url_example) in _URL_EXAMPLES.items():
        url = str(value.get(field) or "")
        parts = urlsplit(url)
        if url and (parts.scheme not in ("http", "https") or not parts.hostname):
            raise LlmopsError(f"{where}: {name}.{field}: '{url}' is not an http(s) URL; give {whose} address, "
                              f"e.g. {url_example}")
    return Connection(
        name=name, api_type=api_type, api_key=str(value.get("api_key") or ""),
        api_base=str(value.get("api_base") or ""), api_version=str(value.get("api_version") or "2024-02-01"),
        base_url=str(value.get("base_url") or ""), model=str(value.get("model") or ""), source=where,
    )


def _check_unreadable(line: UnreadableLine, file_name: str) -> None:
    """A connection python-dotenv cannot read is an error; any other unreadable line is ignored, as dotenv does."""
    where = f"{file_name} line {line.line}"
    value = line.text.partition("=")[2].strip()
    if not ("{" in value or "[" in value or "api_key" in value):
        logger.warning("%s: python-dotenv cannot read this line; it is ignored", where)
        return
    why = " (JSON in double quotes ends at its first inner quote)" if value.startswith('"') else ""
    name = line.key or "<name>"
    raise LlmopsError(f"{where}: {name}: python-dotenv cannot read this line{why}; write the JSON unquoted or in "
                      f"single quotes, e.g. {SAMPLE_LINE.format(name=name)}")


def _comment_hint(entry: EnvEntry) -> str:
    """python-dotenv ends an unquoted value at ' #': a JSON value cut there needs quotes."""
    unquoted = not entry.text.partition("=")[2].lstrip().startswith(("'", '"'))
    return "an unquoted ' #' starts a comment: wrap the JSON in single quotes" if unquoted and " #" in entry.text \
        else ""
