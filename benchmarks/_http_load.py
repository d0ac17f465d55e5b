"""An HTTP load generator cheap enough to measure a server on the same 2 cores: N keep-alive connections on one
asyncio loop, each sending its requests one after another (a thread per client would spend the client's share
of the CPU on thread switches and http.client's parsing)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def _client(port: int, path: str, bodies: list[bytes], headers: bytes, latencies: list[float],
                  start: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await start.wait()
    try:
        for body in bodies:
            request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                       f"Content-Length: {len(body)}\r\n").encode() + headers + b"\r\n" + body
            began = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            if not status_line:  # the server closed the connection after the last answer: open another
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(request)
                status_line = await reader.readline()
            length, close = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "connection" and "close" in value.lower():
                    close = True
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - began) * 1000)
            if status_line.split()[1] != b"200":
                raise RuntimeError(f"{status_line.decode().strip()} from port {port}")
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


def post_load(port: int, concurrency: int, calls: int, body: Callable[[int, int], bytes], path: str = "/score",
              headers: dict[str, str] | None = None) -> tuple[list[float], float]:
    """Latencies in ms of concurrency x calls POSTs (client `w`'s call `i` sends body(w, i)) and the wall time."""
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items()).encode()

    async def drive() -> tuple[list[float], float]:
        latencies: list[float] = []
        start = asyncio.Event()
        clients = [asyncio.create_task(_client(port, path, [body(w, i) for i in range(calls)], extra, latencies,
                                               start)) for w in range(concurrency)]
        await asyncio.sleep(0.2)  # every connection open before the clock starts
        began = time.perf_counter()
        start.set()
        await asyncio.gather(*clients)
        return latencies, time.perf_counter() - began

    return asyncio.run(drive())
