"""A TokenCredential for tests, minting tokens shaped like Entra ID's (unsigned JWTs).

The emulator accepts any bearer token, but the SDK reads claims from its tokens: submitting a
pipeline job checks that the token for the Azure ML scope has that audience (`aud`), and the studio
link gets the tenant (`tid`).
"""

from __future__ import annotations

import time
from typing import Any

import jwt
from azure.core.credentials import AccessToken, AccessTokenInfo

TENANT_ID = "72f988bf-0000-0000-0000-000000000000"
OBJECT_ID = "66666666-7777-8888-9999-000000000000"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"


def mint_token(audience: str, object_id: str = OBJECT_ID, client_id: str = CLIENT_ID) -> tuple[str, int]:
    """An unsigned JWT for `audience` (a resource such as https://ml.azure.com) and when it expires."""
    now = int(time.time())
    expires = now + 3600
    claims = {
        "iat": now,
        "nbf": now - 300,  # Entra ID's margin for clock skew; Azurite checks nbf, iat and exp are there
        "aud": audience,
        "tid": TENANT_ID,
        "oid": object_id,
        "appid": client_id,
        "iss": f"https://sts.windows.net/{TENANT_ID}/",
        "exp": expires,
    }
    return jwt.encode(claims, key=None, algorithm="none"), expires


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a bearer token, read without checking a signature (the emulator checks none)."""
    try:
        return dict(jwt.decode(token, options={"verify_signature": False}))
    except jwt.PyJWTError:
        return {}


class FakeCredential:
    def __init__(self, object_id: str = OBJECT_ID, client_id: str = CLIENT_ID) -> None:
        self.object_id = object_id
        self.client_id = client_id
        self.scopes: list[tuple[str, ...]] = []  # what the client asked tokens for

    def _token(self, scopes: tuple[str, ...]) -> tuple[str, int]:
        self.scopes.append(scopes)
        audience = scopes[0].removesuffix("/.default") if scopes else ""
        return mint_token(audience, self.object_id, self.client_id)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(*self._token(scopes))

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        return AccessTokenInfo(*self._token(scopes))
