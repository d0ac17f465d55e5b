"""The ASGI side of a request: its headers, its body read within a limit, and a JSON answer sent back."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from llmops.serving.request_body import Refused

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ClientGone(Exception):
    """The client closed the connection before its request arrived whole: there is no one to answer."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    deployment: str | None = None
    headers: tuple[tuple[bytes, bytes], ...] = ()


def error(message: str) -> dict[str, Any]:
    return {"error": {"message": message}}


def headers_of(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by lower-case name (the server gives them so); of repeated ones, the last."""
    return dict(scope["headers"])


def text(value: bytes | None) -> str:
    return value.decode("latin-1") if value else ""


async def read_body(receive: Receive, declared_length: bytes | None, limit: int, too_large: str) -> bytes:
    """The whole body, refused with 413 as soon as it is known to pass `limit` bytes (before reading it, when
    Content-Length says so)."""
    if declared_length is not None:
        try:
            length = int(declared_length)
        except ValueError:
            raise Refused(400, "the Content-Length header is not a number") from None
        if length > limit:
            raise Refused(413, too_large)
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:  # a chunked body states no length up front
            raise Refused(413, too_large)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def json_bytes(body: Any) -> bytes:
    text_ = json.dumps(body, ensure_ascii=False, default=str)
    try:
        return text_.encode()
    except UnicodeEncodeError:  # a lone surrogate (say, echoed from the inputs) goes back as the JSON escape it was
        return json.dumps(body, default=str).encode()


async def send_answer(send: Send, answer: Answer, common: list[tuple[bytes, bytes]]) -> None:
    payload = json_bytes(answer.body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *common,
               *answer.headers]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
