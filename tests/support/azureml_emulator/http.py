"""One request and one response as the emulator's handlers see them, free of the HTTP server."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .rest_models import to_json


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query string
    query: dict[str, str]  # keys as sent (the SDK sends `api-version`, `listViewType`, ...)
    headers: dict[str, str]  # keys lower-cased
    body: bytes = b""

    @classmethod
    def parse(cls, method: str, target: str, headers: dict[str, str], body: bytes) -> Request:
        url = urlsplit(target)
        return cls(
            method,
            url.path,
            dict(parse_qsl(url.query, keep_blank_values=True)),
            {k.lower(): v for k, v in headers.items()},
            body,
        )

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"
    drop_connection: bool = False  # close the connection without answering, as a reset or a failed host does


DROPPED = Response(0, drop_connection=True)


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """`value` (a REST model, or plain data holding models) as the service's JSON."""
    return Response(status, to_json(value), dict(headers or {}))


def page(items: list[Any]) -> Response:
    """A list as ARM pages it; everything fits on one page here, so there is no nextLink."""
    return json_response({"value": items})
