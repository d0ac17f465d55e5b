"""The loopback HTTPS server: turns each HTTP exchange into a `Request` for the emulator and back."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .http import Request, Response

App = Callable[[Request], Response]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as ARM offers; azure-core reuses its connections
    # Headers and body go out in two writes: with Nagle's algorithm on, a kept-alive client's delayed ACK holds the
    # body back about 40 ms per answer (1,000 scoring requests took 56 s instead of a few).
    disable_nagle_algorithm = True
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request.parse(self.command, self.path, dict(self.headers.items()), body)
        response = self.server.app(request)
        if response.drop_connection:
            self.close_connection = True  # the client reads no status line: "connection aborted"
            return
        self.send_response(response.status)
        headers = {"Content-Type": response.content_type, **response.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # the emulator keeps its own request log


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, app: App, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = app
        self.socket = context.wrap_socket(self.socket, server_side=True)


class LoopbackServer:
    """Serves `app` over HTTPS on a free loopback port, from a background thread."""

    def __init__(self, app: App, cert: str, key: str) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._server = _Server(app, context)
        self._thread = threading.Thread(target=self._server.serve_forever, name="azureml-emulator", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
