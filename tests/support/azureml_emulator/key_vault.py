"""The Key Vault beside the workspace: its secrets, each with its versions, which tests set directly."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

# The audience Key Vault's data plane accepts tokens for (the public cloud's value; the emulator's cloud
# metadata names the same one).
RESOURCE = "https://vault.azure.net"


@dataclass(frozen=True)
class SecretVersion:
    version: str
    value: str
    created: int  # seconds since the epoch, as Key Vault's attributes give times
    content_type: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


class KeyVault:
    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._secrets: dict[str, list[SecretVersion]] = {}  # lower-cased name -> versions, oldest first
        self._names: dict[str, str] = {}  # lower-cased name -> the name as first set

    def set_secret(
        self, name: str, value: str, content_type: str | None = None, tags: dict[str, str] | None = None
    ) -> SecretVersion:
        version = SecretVersion(uuid.uuid4().hex, value, int(time.time()), content_type, dict(tags or {}))
        with self._lock:
            self._names.setdefault(name.lower(), name)
            self._secrets.setdefault(name.lower(), []).append(version)
        return version

    def get(self, name: str, version: str | None = None) -> tuple[str, SecretVersion] | None:
        """(the secret's name, the version asked for or the latest), or None when there is none."""
        with self._lock:
            versions = self._secrets.get(name.lower(), [])
            found = [v for v in versions if v.version == version] if version else versions[-1:]
            return (self._names[name.lower()], found[0]) if found else None

    def names(self) -> list[str]:
        with self._lock:
            return [self._names[key] for key in self._secrets]

    def clear(self) -> None:
        with self._lock:
            self._secrets.clear()
            self._names.clear()
