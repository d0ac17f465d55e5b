"""Tags say which run, variant, flow and node a call belongs to; routes encode them in a URL prefix."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import asdict, dataclass

from llmops.errors import unknown_name
from llmops.llm.gateway.call_errors import UNKNOWN_ROUTE_STATUS, GatewayCallError

_TAG_ID_LENGTH = 16


@dataclass(frozen=True)
class Tag:
    """What a call is for. Empty strings mean unknown; `line` is set only when routes are made per line.

    `trial`: the repeated trial (TRIALS in llmops_config.json) of the run; part of the call's cache key and
    cassette hash when above 0, so each trial gets answers of its own and a rerun gets the same ones again.
    """

    run: str = ""
    variant: str = ""
    flow: str = ""
    node: str = ""
    line: int | None = None
    trial: int = 0


UNTAGGED = Tag()


@dataclass(frozen=True)
class Route:
    connection: str
    tag: Tag


class RouteTable:
    """Maps the tag ids found in request paths back to (connection, tag). Thread safe."""

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._lock = threading.Lock()

    def add(self, connection: str, tag: Tag) -> str:
        # A content hash rather than a counter: the same (connection, tag) always gets the same id, so
        # re-routing a run is idempotent and ids in logs can be matched across gateway restarts.
        fields = asdict(tag)
        if not tag.trial:
            del fields["trial"]  # trial 0 keeps the ids routes had before trials existed
        payload = json.dumps({"connection": connection, **fields}, sort_keys=True)
        tag_id = hashlib.sha256(payload.encode()).hexdigest()[:_TAG_ID_LENGTH]
        with self._lock:
            self._routes[tag_id] = Route(connection, tag)
        return tag_id

    def resolve(self, tag_id: str) -> Route:
        with self._lock:
            route = self._routes.get(tag_id)
        if route is None:
            raise GatewayCallError(
                UNKNOWN_ROUTE_STATUS,
                f"unknown gateway route tag '{tag_id}'; routes are made by Gateway.route() and last as "
                "long as that gateway: give the flow a connection from the running gateway",
                "invalid_request_error",
            )
        return route


def check_connection(name: str, known: list[str]) -> None:
    """Raise the standard unknown-name error when `name` is not a configured connection."""
    if name not in known:
        raise unknown_name("gateway connection", name, known, "add an Upstream for it to Gateway(upstreams=...)")
