"""A TokenCredential for tests: the emulator accepts any bearer token, as long as there is one."""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo


class FakeCredential:
    def __init__(self, token: str = "emulator-token") -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []  # what the client asked tokens for

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        self.scopes.append(scopes)
        return AccessTokenInfo(self.token, int(time.time()) + 3600)
