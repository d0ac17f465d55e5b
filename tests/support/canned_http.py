"""A raw loopback HTTP server that answers with exact bytes: for testing HTTP clients on framings and failures."""

from __future__ import annotations

import socket
import threading


class CannedServer:
    """Answers the n-th request on a connection with answers[n] (raw bytes); closes after the last one."""

    def __init__(self, answers: list[bytes], close_after: bool = True, host: str = "127.0.0.1") -> None:
        self.answers = answers
        self.close_after = close_after
        self.requests: list[bytes] = []
        self.connections = 0
        self._listener = socket.create_server((host, 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                for answer in self.answers:
                    request = self._read_request(conn)
                    if request is None:
                        break
                    self.requests.append(request)
                    conn.sendall(answer)
                if not self.close_after:
                    self._read_request(conn)

    @staticmethod
    def _read_request(conn: socket.socket) -> bytes | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
        while len(body) < length:
            body += conn.recv(65536)
        return data

    def close(self) -> None:
        self._listener.close()
