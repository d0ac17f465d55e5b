"""The loopback port an endpoint server listens on: taken or free, and by whom, said before a server starts."""

from __future__ import annotations

import errno
import os
import socket

from llmops.errors import LlmopsError

LOOPBACK = "127.0.0.1"
_IN_USE = {errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)}


def check_free(port: int) -> None:
    """Raise a message naming the port (and its owner, when known) unless the server could listen on it."""
    if port == 0:
        return  # any free port
    with socket.socket() as probe:
        if os.name == "posix":  # as waitress binds: a port whose last connection is in TIME_WAIT is free
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError as error:
            raise port_error(port, error) from None


def port_error(port: int, error: OSError) -> LlmopsError:
    if error.errno not in _IN_USE:
        return LlmopsError(f"port {port} on {LOOPBACK} cannot be used ({error.strerror}); choose another with --port")
    owner = _listener(port)
    by = f" (by pid {owner})" if owner else ""
    return LlmopsError(f"port {port} on {LOOPBACK} is in use{by}; choose another with --port or stop it")


def _listener(port: int) -> int | None:
    """The pid listening on `port`, when this user may see it; None otherwise."""
    try:
        import psutil  # comes with prompt flow; without it the message just leaves the pid out
    except ImportError:
        return None
    try:
        found = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return None
    return next((c.pid for c in found if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN
                 and c.pid), None)
