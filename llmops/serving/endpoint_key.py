"""The endpoint's key, taken as Azure ML endpoints take theirs: `Authorization: Bearer <key>` on POST /score.

The key never sits in a config file: the env's local_endpoint block names a variable (AUTH_KEY_VARIABLE,
for example ENDPOINT_KEY) and the key is its value, from the environment (which wins, as in CI) or `.env`.
The CLI resolves it once; `endpoint up` hands it to the server in the server's environment (KEY_ENV),
never in its arguments or its record; test-endpoint and deploy's smoke test send it. It is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from llmops.config.use_case import UseCase
from llmops.errors import LlmopsError
from llmops.serving.endpoint_config import local_endpoint

KEY_ENV = "LLMOPS_ENDPOINT_KEY"  # the server's key: set by `endpoint up`, or by an image's deployment
MIN_LENGTH = 16
MAKE_ONE = "python -c \"import secrets; print(secrets.token_urlsafe(32))\""


@dataclass(frozen=True)
class EndpointKey:
    variable: str  # said in a 401, so the caller knows which key to send
    value: str = field(repr=False)

    def admits(self, authorization: str) -> bool:
        scheme, _, token = authorization.strip().partition(" ")
        # Digests of equal length, compared in constant time: how long a wrong key takes to refuse tells nothing.
        sent, kept = (hashlib.sha256(t.encode()).digest() for t in (token.strip(), self.value))
        return hmac.compare_digest(sent, kept) and scheme.lower() == "bearer"

    @property
    def header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.value}"}


def resolve_key(use_case: UseCase, env: str, env_file: Path, environ: Mapping[str, str]) -> EndpointKey | None:
    """The key the env's endpoint requires; None when its local_endpoint names no AUTH_KEY_VARIABLE."""
    from dotenv import dotenv_values

    name = local_endpoint(use_case, env).AUTH_KEY_VARIABLE
    if not name:
        return None
    value = environ.get(name) or (dotenv_values(env_file).get(name) if env_file.is_file() else None)
    where = (f"use_cases/{use_case.name}/configs/deployment_config.json: local_endpoint for env '{env}' has "
             f"AUTH_KEY_VARIABLE '{name}'")
    if not value:
        raise LlmopsError(f"{where}, but {name} is set neither in the environment nor in {env_file}; add a line "
                          f"{name}=<key> to {env_file.name} (make a key with: {MAKE_ONE})")
    check_key_value(value, where, name)
    return EndpointKey(name, value)


def check_key_value(value: str, where: str, name: str) -> None:
    """Refuse a key that cannot go in a header or is short enough to guess; the message never quotes it."""
    if len(value) < MIN_LENGTH or not value.isascii() or not value.isprintable() or " " in value:
        raise LlmopsError(f"{where}: the value of {name} must be at least {MIN_LENGTH} printable ASCII characters "
                          f"without spaces, so it can be sent in a header and not guessed; make one with: {MAKE_ONE}")
