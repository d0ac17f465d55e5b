"""The local endpoint server process: the server of server_assembly.py on the local registry's deployments.

Started by `llmops endpoint up` as `python -m llmops.serving ...` (see process.py); it writes its
record once it listens and removes it when SIGTERM (`llmops endpoint down`) stops it. It answers
liveness at once and readiness once its deployments are loaded. The serving image runs the same server
(image/server.py) on its one fixed deployment.

Why uvicorn and the line on the event loop: the mini use case (python nodes only) behind each server, best of 3
rounds, same run, keep-alive clients on one asyncio loop, one 2-core machine at load 4.2 from other work;
CPU is the server process's per request:

    server                                   clients  req/s  p50 ms  p99 ms  CPU ms
    waitress, 8 threads, line handed to a       1       486    1.86    6.36    1.83
      loop thread (before)                    100       412  214.29  407.42    2.46
    uvicorn + httptools + uvloop, bare ASGI,    1       543    1.70    4.21    1.63
      line on the loop (this module)          100       449  194.39  502.15    1.69
    uvicorn + starlette's router in front       1       403    1.99    7.69    1.87
      of the same app                         100       405  203.27  664.91    1.88

waitress gives every request a thread and hands the line to an event loop thread and back; each hand-over
waits for the GIL. Here the request is parsed, routed, run and answered on one loop, and only the flow's
synchronous nodes go to the node pool, as `run_batches` runs an experiment's lines.

Against the line in process and `pf flow serve` (benchmarks/endpoint_overhead.py, best of 3 rounds, 2026-11-26,
load 7.4 on 2 cores):

    clients  endpoint req/s  p50 ms  p99 ms  CPU ms   x in process (best of sync, async)   x pf flow serve
       1          716          1.29    5.27   1.27     0.89 (async 807, sync 722)            4.75 (151 req/s)
     100          579        152.56  356.67   1.62     0.59 (async 979, 0.98 CPU ms)         2.65 (219 req/s)

At 100 clients the server is CPU-bound on one core (the GIL), so the ratio to the line in process is about the CPU
per line in process over the CPU per request here. Where a request's CPU goes (2026-11-26, later; CPU per request
of the server process, the least disturbed of 6-10 rounds interleaved with the compared server, load 6-10 on 2 cores
from other work, so only differences measured side by side count):

    uvicorn + httptools + uvloop + the guarded protocol answering a bare ASGI app            0.06 ms
    the whole server with a line that answers at once                                       0.25 ms
      of which the app (routing, checks, JSON, the timeout...)                              0.19 ms
      of which the production log's entry (encoding it, twice over for its bounds)          0.04 ms
      and the registry's version read (one SQLite read transaction)                         0.02 ms
    the mini flow's line in process, one python node: prompt flow's per-line bookkeeping     0.50-0.65 ms
      (run tracker, operation context, DAG walk, contexts); the node's own code takes 2 us,
      and a hand-over to a node thread and back 0.03 ms when nothing else runs

So the server's own cost is about 0.25 ms against a line of about 0.55: one process cannot reach 0.8x the line
rate in process on this flow (that needs the server's cost under 0.14 ms, under what the HTTP layer and the
production log take alone). What was done: the line runs without run records (FlowRunner records=False: prompt
flow's default storage walked every input and output twice per line; 0.50 against 0.535 ms per line, the least of
8 sequential rounds), an answer leaves in one write instead of two (http_protocol.py), and no trace object is made
per request while telemetry is off: with a line that answers at once, 0.302 against 0.335 ms per request (median
of 10 interleaved rounds; least 0.250 against 0.260). Measured and not kept: production log entries written in
batches by a writer thread (encoding, not the write, is its cost: the same CPU with the write left out), and an
entry encoded once instead of three times (1.4 us). What would reach it: more than one server process. Two
server processes on the same endpoint served 1,254 req/s where one served 810 (best of 5 interleaved rounds,
load 6-8), about the line rate in process; that needs the processes to share one LLM gateway (its concurrency
bound per upstream and its accounting), one production log (or a log per process, read back as one), one bound
on requests in flight, and a parent that starts, watches and stops them: that is WORKERS (workers.py). Earlier, also
tried and not kept beyond the run-to-run spread: the registry's version read per request replaced by a
memory-mapped change signal, a request id without os.urandom.

With WORKERS 2, same run (benchmarks/endpoint_overhead.py --rounds 3, best of 3, load 2.0 on 2 cores, the load
generator on the same 2 cores; CPU ms is the parent's and its workers' together):

    clients  server       req/s  p50 ms  p99 ms  CPU ms  x in process (async 1712 / 1859 req/s)  x pf flow serve
       1     1 process     1010    0.90    2.41    0.80    0.59                                    3.38
       1     2 workers     1102    0.88    1.56    0.83    0.64                                    3.69
     100     1 process      842   96.03  289.31    0.97    0.45                                    2.84
     100     2 workers     1423   51.64  246.52    0.85    0.77                                    4.80

The default stays 1 worker locally: `endpoint up` serves development and tests, where each worker's copy of the
flows and its start cost more than the throughput is worth, and an LLM flow waits on its model, not on the GIL.
The image defaults to one worker per usable CPU (image/server.py).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from llmops.backends.local.engine.promptflow_env import configure_promptflow
from llmops.backends.local.registry import endpoints as endpoint_registry
from llmops.config.deployment_config import LocalEndpoint
from llmops.config.use_case import UseCase, load_use_case
from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError
from llmops.serving import process
from llmops.serving.endpoint_config import local_endpoint
from llmops.serving.endpoint_key import KEY_ENV, EndpointKey, check_key_value
from llmops.serving.live_state import RegistryRecords
from llmops.serving.ports import LOOPBACK
from llmops.serving.process import ServeOptions
from llmops.serving.production_log import DEFAULT_MAX_BYTES
from llmops.serving.server_assembly import ServerPlan, run_endpoint_server
from llmops.serving.server_settings import Listen, ServerLimits, is_loopback, worker_count

if TYPE_CHECKING:
    from llmops.llm.session import LlmSession

logger = logging.getLogger(__name__)


def open_session(workspace: Workspace, options: ServeOptions, use_case: UseCase) -> LlmSession:
    from llmops.llm.open_session import open_session as open_llm_session

    return open_llm_session(workspace, use_case, options.env, [use_case.standard_flow(options.env)],
                            provider=options.provider, env_file=options.env_file,
                            embedded_model=options.embedded_model, start_model_now=True)


def endpoint_key(block: LocalEndpoint, options: ServeOptions) -> EndpointKey | None:
    """The key POST /score requires: the one the server was given, named as the env's AUTH_KEY_VARIABLE."""
    if not options.key:
        if block.AUTH_KEY_VARIABLE:  # the config asks for a key and none came: refuse to serve without one
            raise LlmopsError(f"local_endpoint for env '{options.env}' has AUTH_KEY_VARIABLE "
                              f"'{block.AUTH_KEY_VARIABLE}' but the server was given no key; start it with llmops "
                              "endpoint up, which reads the key from .env or the environment")
        return None
    name = block.AUTH_KEY_VARIABLE or KEY_ENV
    check_key_value(options.key, f"the endpoint key given in {KEY_ENV}", name)
    return EndpointKey(name, options.key)


def limits(block: LocalEndpoint, options: ServeOptions) -> ServerLimits:
    """The env's configured limits; the server applies the LLMOPS_ENDPOINT_* variables over them."""
    receive = options.receive_timeout_s or ServerLimits.receive_timeout_s
    return ServerLimits(max_body_bytes=block.MAX_REQUEST_BODY_BYTES, receive_timeout_s=receive)


def serve(options: ServeOptions, environ: dict[str, str] | None = None) -> None:
    environ = dict(os.environ) if environ is None else environ
    workspace = Workspace(root=options.root, state_dir=options.state_dir, reports_dir=options.root / "reports")
    configure_promptflow(options.state_dir)
    endpoint_registry.get_endpoint(options.state_dir, options.endpoint)  # `endpoint up` registered it
    use_case = load_use_case(workspace, options.use_case)
    block = local_endpoint(use_case, options.env)
    listen = Listen(options.host, options.port, endpoint_key(block, options))  # no public bind without a key
    plan = ServerPlan(options.endpoint, options.state_dir, listen, limits(block, options), options.threads,
                      block.STICKY_SESSION_HEADER, options.seed,
                      DEFAULT_MAX_BYTES if options.log_max_bytes is None else options.log_max_bytes,
                      workers=worker_count(environ, block.WORKERS, "WORKERS of the local_endpoint"))
    records = process.servers(options.state_dir)

    def listening(port: int) -> None:
        host = LOOPBACK if not is_loopback(listen.host) else listen.host
        info = process.ServerInfo(
            endpoint=options.endpoint, use_case=options.use_case, env=options.env, provider=options.provider,
            pid=os.getpid(), port=port, url=f"http://{host}:{port}",
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            server_log=str(process.server_log_path(options.state_dir, options.endpoint)),
        )
        records.write(options.endpoint, info)
        logger.info("endpoint %s listening on %s:%d (pid %d, provider %s%s)", options.endpoint, listen.host, port,
                    info.pid, options.provider, ", key required" if listen.key else "")

    try:
        run_endpoint_server(plan, lambda: RegistryRecords(options.state_dir, options.endpoint),
                            lambda: open_session(workspace, options, use_case), environ, listening)
    finally:
        records.forget(options.endpoint, os.getpid())  # unless a newer server's record replaced it
        logger.info("endpoint %s stopped", options.endpoint)


def check_port(port: int) -> int:
    if not 0 <= port <= 65535:
        raise LlmopsError(f"--port {port} is not a TCP port; use 0 (any free port) or 1-65535")
    return port
