"""The port an endpoint server listens on: taken or free, and by whom, said before a server starts; the socket."""

from __future__ import annotations

import errno
import os
import socket

from llmops.errors import LlmopsError

LOOPBACK = "127.0.0.1"
_IN_USE = {errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)}


BACKLOG = 2048  # a burst of new connections waits here for the loop to accept it


def _socket(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    if os.name == "posix":  # a port whose last connection is in TIME_WAIT is free
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


def check_free(port: int, host: str = LOOPBACK) -> None:
    """Raise a message naming the port (and its owner, when known) unless the server could listen on it."""
    if port == 0:
        return  # any free port
    with _socket(host) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise port_error(port, error, host) from None


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (0: any free port) and listening; a taken port is said as check_free says it."""
    sock = _socket(host)
    try:
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as error:
        sock.close()
        raise port_error(port, error, host) from None
    sock.setblocking(False)
    return sock


def port_error(port: int, error: OSError, host: str = LOOPBACK) -> LlmopsError:
    if error.errno not in _IN_USE:
        return LlmopsError(f"port {port} on {host} cannot be used ({error.strerror}); choose another with --port")
    owner = _listener(port)
    by = f" (by pid {owner})" if owner else ""
    return LlmopsError(f"port {port} on {host} is in use{by}; choose another with --port or stop it")


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
