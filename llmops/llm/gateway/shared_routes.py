"""Routes made in another process than the gateway's: registered with the running gateway over its loopback port.

An endpoint server with several worker processes (serving/workers.py) runs ONE gateway, in the parent, so the
per-upstream concurrency bound and the accounting hold for all of them; each worker loads its own deployments
and must make their routes where the gateway resolves them. `POST /routes` on the gateway (its session token
required, as for every POST) takes `{"connection": ..., "tag": {...}}` and answers `{"id": ...}`: the same
content-hash id RouteTable.add gives, so a route is the same whichever process made it.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from llmops.errors import LlmopsError
from llmops.llm.gateway.loopback_connection import LoopbackConnection
from llmops.llm.gateway.tags import RouteTable, Tag

ROUTES_PATH = "/routes"
TIMEOUT_S = 30.0


def register(routes: RouteTable, body: bytes) -> tuple[int, dict[str, Any]]:
    """The gateway's side of POST /routes: (status, answer)."""
    try:
        request = json.loads(body)
        tag = Tag(**request["tag"])
        connection = request["connection"]
        if not isinstance(connection, str):
            raise TypeError("connection must be a string")
    except (ValueError, KeyError, TypeError) as error:
        return 400, {"error": {"message": f"POST {ROUTES_PATH} takes {{\"connection\": ..., \"tag\": {{...}}}}: "
                                          f"{error}", "type": "invalid_request_error", "code": "400"}}
    return 200, {"id": routes.add(connection, tag)}


class RemoteRoutes(RouteTable):
    """A RouteTable whose `add` registers the route with the gateway listening on `port` (another process)."""

    def __init__(self, host: str, port: int, token: str) -> None:
        super().__init__()
        self._host = host
        self._port = port
        self._token = token

    def add(self, connection: str, tag: Tag) -> str:
        body = json.dumps({"connection": connection, "tag": asdict(tag)}).encode()
        link = LoopbackConnection(self._host, self._port, TIMEOUT_S)
        try:
            answer = link.exchange("POST", ROUTES_PATH, {"Content-Type": "application/json",
                                                         "Authorization": f"Bearer {self._token}"}, body, TIMEOUT_S)
        except OSError as error:
            raise LlmopsError(f"the LLM gateway on port {self._port} could not register a route for connection "
                              f"'{connection}': {error}") from error
        finally:
            link.close()
        if answer.status != 200:
            raise LlmopsError(f"the LLM gateway on port {self._port} refused a route for connection '{connection}' "
                              f"({answer.status}): {answer.body[:200].decode('utf-8', 'replace')}")
        tag_id = json.loads(answer.body)["id"]
        super().add(connection, tag)  # kept here too: the same id, should anything here resolve it
        return str(tag_id)
