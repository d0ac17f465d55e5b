"""Latency the LLM gateway adds per call, at 50 concurrent requests, against a loopback upstream.

Three phases in one run, same requests, same client code (one keep-alive connection per client thread):
  direct   clients -> upstream
  gateway  clients -> gateway -> upstream (cache off, accounting on: the path of a cache miss)
  hit      clients -> gateway, every request already cached (no upstream)

The upstream is an OpenAI-compatible HTTP server in its own process (as a model server or a cloud API
is), answering after a fixed latency. Clients and gateway share this process and its GIL, as prompt
flow's executor threads and the gateway do in a real run.

    .venv/bin/python benchmarks/gateway_overhead.py [--concurrency 50] [--calls 20] [--upstream-ms 50]
        [--library-client]

The gateway reaches a loopback upstream with its lean loopback client; --library-client sends through
urllib3, the remote providers' client, instead: the difference is what the loopback fast path saves.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _latency import percentiles, run_threads  # benchmarks/ is the script's folder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests.support

from llmops.llm.gateway import Gateway, Tag, Upstream  # noqa: E402
from llmops.llm.gateway import gateway as gateway_module  # noqa: E402
from llmops.llm.gateway.http_transport import HttpTransport  # noqa: E402
from tests.support.loopback_upstream import LoopbackUpstream  # noqa: E402

AZURE_PATH = "/openai/deployments/gpt-35-turbo/chat/completions?api-version=2024-02-01"


def serve_upstream(latency_s: float, address: Any, stop: Any) -> None:
    """Runs in a child process: the upstream model server."""
    with LoopbackUpstream(latency_s=latency_s) as upstream:
        address.put(upstream.url)
        stop.wait()


def request_body(worker: int, index: int) -> bytes:
    question = f"Classify https://example.com/{worker}/{index} into one of: news, shop, blog, docs."
    return json.dumps(
        {
            "messages": [{"role": "system", "content": "You classify URLs."}, {"role": "user", "content": question}],
            "temperature": 0,
            "max_tokens": 16,
        }
    ).encode()


def run_clients(base_url: str, concurrency: int, calls: int, key: str = "") -> tuple[list[float], float, float]:
    """Latencies in ms of concurrency x calls requests, the wall time in s and this process's CPU time in s.

    The CPU time (clients and, in process, the gateway; not the upstream's process) varies less than
    latency on a busy machine: the difference between two phases is what the gateway costs.
    """
    parts = urlsplit(base_url)

    def make_call(worker: int) -> Callable[[int], None]:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
        bodies = [request_body(worker, i) for i in range(calls)]

        def call(index: int) -> None:
            connection.request("POST", parts.path + AZURE_PATH, body=bodies[index],
                               headers={"Content-Type": "application/json", "api-key": key})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status} from {base_url}")

        return call

    cpu_before = time.process_time()
    latencies, wall = run_threads(concurrency, calls, make_call)
    return latencies, wall, time.process_time() - cpu_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--calls", type=int, default=20, help="calls per client thread")
    parser.add_argument("--upstream-ms", type=float, default=50.0, help="upstream answer latency")
    parser.add_argument("--library-client", action="store_true",
                        help="reach the upstream through urllib3 (the remote path), not the loopback client")
    args = parser.parse_args()
    if args.library_client:
        # The gateway opens its transports with open_transport(url, keep_alive); HttpTransport takes the same.
        gateway_module.open_transport = HttpTransport  # type: ignore[attr-defined]  # imported there, not exported

    context = multiprocessing.get_context("spawn")
    address, stop = context.Queue(), context.Event()
    child = context.Process(target=serve_upstream, args=(args.upstream_ms / 1000, address, stop), daemon=True)
    child.start()
    upstream_url = address.get(timeout=30)
    upstream = Upstream("bench", "azure", upstream_url, api_key="bench-key", max_concurrency=args.concurrency)
    total = args.concurrency * args.calls
    print(
        f"{total} calls per phase: {args.concurrency} concurrent clients x {args.calls} calls; "
        f"upstream answers after {args.upstream_ms:g} ms (separate process); gateway to upstream through "
        f"{'urllib3' if args.library_client else 'the loopback client'}"
    )
    try:
        with tempfile.TemporaryDirectory() as scratch:
            run_clients(upstream_url, args.concurrency, 2)  # warm up the upstream's threads
            direct, direct_wall, direct_cpu = run_clients(upstream_url, args.concurrency, args.calls)
            with Gateway({"aoai": upstream}, accounting_path=Path(scratch) / "calls.sqlite") as gateway:
                route = gateway.route("aoai", "azure", Tag(run="bench-miss"))
                run_clients(route, args.concurrency, 2, gateway.token)
                via_gateway, gateway_wall, gateway_cpu = run_clients(route, args.concurrency, args.calls, gateway.token)
            cache = Path(scratch) / "cache.sqlite"
            with Gateway(
                {"aoai": upstream}, cache_path=cache, accounting_path=Path(scratch) / "hits.sqlite"
            ) as gateway:
                route = gateway.route("aoai", "azure", Tag(run="bench-hit"))
                run_clients(route, args.concurrency, args.calls, gateway.token)  # fills the cache
                hits, hit_wall, hit_cpu = run_clients(route, args.concurrency, args.calls, gateway.token)
    finally:
        stop.set()
        child.join(timeout=10)

    direct_p50, direct_p99 = percentiles(direct)
    gateway_p50, gateway_p99 = percentiles(via_gateway)
    hit_p50, hit_p99 = percentiles(hits)
    print(f"{'phase':<22}{'p50 ms':>10}{'p99 ms':>10}{'calls/s':>10}{'CPU ms/call':>13}")
    for name, p50, p99, wall, cpu in (
        ("direct to upstream", direct_p50, direct_p99, direct_wall, direct_cpu),
        ("through gateway", gateway_p50, gateway_p99, gateway_wall, gateway_cpu),
        ("gateway cache hit", hit_p50, hit_p99, hit_wall, hit_cpu),
    ):
        print(f"{name:<22}{p50:>10.2f}{p99:>10.2f}{total / wall:>10.0f}{cpu / total * 1000:>13.3f}")
    added_p50, added_p99 = gateway_p50 - direct_p50, gateway_p99 - direct_p99
    print(f"added by the gateway: p50 {added_p50:+.2f} ms, p99 {added_p99:+.2f} ms")
    print(f"CPU added by the gateway per call: {(gateway_cpu - direct_cpu) / total * 1000:+.3f} ms")
    print(f"ratio gateway/direct: p50 {gateway_p50 / direct_p50:.3f}x, p99 {gateway_p99 / direct_p99:.3f}x")
    print(f"cache hit vs direct: p50 {hit_p50 / direct_p50:.3f}x")
    verdict = "met" if added_p50 < 2.0 else "NOT met"
    print(f"target p50 added < 2 ms: {verdict}")


if __name__ == "__main__":
    main()
