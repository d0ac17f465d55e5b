"""Waitress, guarded: idle or slow connections cannot make the endpoint unreachable, and what waitress refuses
itself (a body over the limit, headers too large, a malformed request) is answered in JSON like the app.

Waitress closes a connection only after `channel_timeout` seconds without a byte and stops accepting at
`connection_limit`, so 1,000 idle connections, or a byte every few seconds on each, held the endpoint
until they were released. Here:
- a request must arrive whole, headers and body, within `receive_timeout_s` of its first byte (slowloris);
- a connection without a request for `idle_timeout_s` is closed;
- at the connection limit, the connection that has waited longest with no request being served is closed to
  let the new one in, instead of new clients waiting in the backlog. A request being served is never cut.
A limit per client address would not help: every client of a loopback server is 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from dataclasses import dataclass
from typing import Any

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask
from waitress.utilities import RequestEntityTooLarge

logger = logging.getLogger(__name__)

ACCEPT_BATCH = 64  # connections accepted per pass of the loop; waitress takes one, and each pass polls every socket
LINGER_S = 5.0  # how long a refused client may go on sending (see GuardedChannel.handle_close)
WARN_EVERY_S = 60.0


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1024 * 1024
    receive_timeout_s: float = 20.0
    idle_timeout_s: float = 60.0
    connection_limit: int = 1000


class _TimedParser(HTTPRequestParser):
    """Waitress makes a parser when the first bytes of a request arrive: that is when its time starts."""

    def __init__(self, adj: Adjustments) -> None:
        super().__init__(adj)
        self.first_byte_at = time.time()


class _JsonErrorTask(ErrorTask):
    def execute(self) -> None:
        error = self.request.error
        if isinstance(error, RequestEntityTooLarge):
            limit = self.channel.server.limits.max_body_bytes
            message = (f"the request body is larger than this endpoint's limit of {limit} bytes; send less, or raise "
                       "MAX_REQUEST_BODY_BYTES of the local_endpoint in deployment_config.json")
        else:
            message = f"{error.reason}: {error.body}"
        body = json.dumps({"error": {"message": message}}).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.channel.refused = True
        self.write(body)


class GuardedChannel(HTTPChannel):
    parser_class = _TimedParser
    error_task_class = _JsonErrorTask
    refused = False  # answered with an error while the client may still be sending
    lingering_until: float | None = None

    def handle_close(self) -> None:
        # Closing a socket with unread data resets the connection, and the client (still sending the body we
        # refused) would lose the answer with it. So, once the answer is out: stop writing, read and drop what
        # comes for a while, close when the client does.
        if self.refused and self.lingering_until is None and self.connected:
            try:
                self.socket.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            else:
                self.lingering_until = time.time() + LINGER_S
                self.will_close = False
                return
        super().handle_close()

    def readable(self) -> bool:
        return self.lingering_until is not None or bool(super().readable())

    def writable(self) -> bool:
        if self.lingering_until is not None:
            return time.time() > self.lingering_until  # then handle_write closes it
        return bool(super().writable())

    def handle_read(self) -> None:
        if self.lingering_until is None:
            super().handle_read()
        else:
            self.recv(256 * 1024)  # dropped; at the end of the stream recv closes the channel

    def handle_write(self) -> None:
        if self.lingering_until is None:
            super().handle_write()
        elif self.connected:
            super().handle_close()


class GuardedServer(TcpWSGIServer):
    channel_class = GuardedChannel
    next_channel_cleanup: float = 0.0

    def __init__(self, application: Any, limits: Limits, **adjustments: Any) -> None:
        self.limits = limits
        self._warned_at = 0.0
        super().__init__(application, adj=Adjustments(
            connection_limit=limits.connection_limit, channel_timeout=limits.idle_timeout_s, cleanup_interval=1,
            # waitress refuses a body of max_request_body_size bytes or more; the limit itself is allowed
            max_request_body_size=limits.max_body_bytes + 1, **adjustments))

    def readable(self) -> bool:
        now = time.time()
        if now >= self.next_channel_cleanup:
            self.next_channel_cleanup = now + self.adj.cleanup_interval
            self.maintenance(now)
        if not self.accepting:
            return False
        if len(self._map) < self.adj.connection_limit:
            return True
        self._make_room(now)
        return False  # the next pass of the loop closes the one chosen, then accepts

    def handle_accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            before = len(self._map)
            if before >= self.adj.connection_limit:
                return
            super().handle_accept()
            if len(self._map) == before:
                return  # none left to accept

    def maintenance(self, now: float) -> None:
        for channel in list(self.active_channels.values()):
            if channel.requests or channel.will_close or channel.lingering_until is not None:
                continue  # served (a flow may take minutes), closing, or lingering on its own clock
            request = channel.request
            if request is not None and now - request.first_byte_at > self.limits.receive_timeout_s:
                logger.warning("closed a connection that took more than %.0f s to send its request",
                               self.limits.receive_timeout_s)
                channel.will_close = True
            elif request is None and now - channel.last_activity > self.limits.idle_timeout_s:
                channel.will_close = True

    def _make_room(self, now: float) -> None:
        channels = list(self.active_channels.values())
        if any(c.will_close for c in channels):
            return  # one is closing already
        waiting = [c for c in channels if not c.requests and c.lingering_until is None]
        if not waiting:
            return  # every connection has a request in service: new ones wait in the backlog
        min(waiting, key=lambda c: c.last_activity).will_close = True
        if now - self._warned_at > WARN_EVERY_S:
            self._warned_at = now
            logger.warning("%d connections open, the limit: closing those idle the longest to let new ones in",
                           len(channels))
