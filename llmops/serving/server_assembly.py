"""One endpoint server, assembled the same way wherever it runs: under `llmops endpoint up` (endpoint_server.py)
and in the serving image (image/server.py). They differ only in where the deployments come from (the
DeploymentRecords they pass: the local registry, or the image's one fixed deployment) and in what they announce
once the server listens (the local server's record, the image's ready file).

Everything else is here, once: the bind rule (no listening off loopback without a key, server_settings.Listen),
the limits with their LLMOPS_ENDPOINT_* overrides, the production log's place (LLMOPS_PRODUCTION_LOG_DIR) and
its shipping to blob storage when LLMOPS_PRODUCTION_LOG_URL is set (log_shipping.py), OpenTelemetry from the
environment, the node pool, the app (/score, liveness, readiness, 503 with Retry-After), uvicorn, the worker
processes when there are several (workers.py), and the order of the shutdown. The socket is bound before the LLM
session opens, so a taken port fails fast; the server answers liveness at once and readiness once the first load
is done. A first load that fails stops the server with the reason (LlmopsError): a server that can never become
ready is better gone, so `endpoint up` or the platform shows why.
"""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from llmops.backends.local.engine.node_pool import NodePool
from llmops.errors import LlmopsError
from llmops.serving import asgi_server
from llmops.serving.app import AppOptions, EndpointApp
from llmops.serving.live_state import DeploymentRecords, LiveState
from llmops.serving.log_shipping import production_log, shipping_settings
from llmops.serving.mirror import Mirror
from llmops.serving.ports import listening_socket
from llmops.serving.production_log import DEFAULT_MAX_BYTES, ProductionLog, log_location, worker_log
from llmops.serving.server_settings import Listen, ServerLimits
from llmops.serving.telemetry import EndpointTelemetry, from_environment
from llmops.serving.workers import ReadyBoard, Supervisor

if TYPE_CHECKING:
    from llmops.llm.session import LlmSession

logger = logging.getLogger(__name__)

NODE_THREADS_PER_THREAD = 4  # --threads N: 4N threads for the flows' synchronous nodes (LLM calls included)
MIRROR_GRACE_S = 10.0
# Loggers that say a line per request or per LLM call (httpx; httpx2, the openai client's; azure, each upload of
# the production log), or what the server says itself (uvicorn's start).
NOISY_LOGGERS = ("execution", "promptflow", "httpx", "httpx2", "uvicorn.error", "azure")


@dataclass(frozen=True)
class ServerPlan:
    endpoint: str
    state_dir: Path  # prompt flow's materialized snapshots; the production log unless LLMOPS_PRODUCTION_LOG_DIR
    listen: Listen
    limits: ServerLimits  # before the environment's LLMOPS_ENDPOINT_* overrides, which apply here
    threads: int = 8
    sticky_header: str = ""
    seed: int | None = None  # fixes the traffic draws (tests)
    log_max_bytes: int = DEFAULT_MAX_BYTES
    deployment: str | None = None  # the one deployment an image serves: its folder in shipped logs (log_shipping.py)
    workers: int = 1  # server processes on the one socket (workers.py)


def configure_process() -> None:
    """What a server process sets before it starts, whichever entry point started it."""
    # A line's synchronous nodes run on node threads; each hand-over between them and the event loop waits for the
    # GIL, up to the switch interval while another thread computes.
    sys.setswitchinterval(0.001)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_endpoint_server(plan: ServerPlan, records: Callable[[], DeploymentRecords],
                        open_session: Callable[[], LlmSession], environ: Mapping[str, str],
                        listening: Callable[[int], None]) -> None:
    """Serve until SIGTERM or SIGINT; `listening(port)` runs once the socket listens, before the first load.

    `records()` opens the deployment records (once per worker process: a SQLite connection must not cross a fork);
    they are closed when the server stops, whatever happened. With plan.workers above 1 this process binds the
    socket and opens the session, and workers.py runs the server in that many forked processes."""
    if plan.workers > 1:
        _run_workers(plan, records, open_session, environ, listening)
        return
    failure: list[str] = []
    with ExitStack() as cleanup:
        opened = records()
        cleanup.callback(opened.close)
        limits = plan.limits.with_environment(environ)
        log = cleanup.enter_context(production_log(log_location(plan.state_dir, plan.endpoint, environ), plan.endpoint,
                                                   plan.deployment, plan.log_max_bytes, environ))
        telemetry = from_environment(plan.endpoint, environ)
        cleanup.callback(telemetry.shutdown)
        sock = listening_socket(plan.listen.host, plan.listen.port)
        cleanup.callback(sock.close)
        session = cleanup.enter_context(open_session())
        _serve(cleanup, plan, _Parts(opened, limits, log, telemetry, sock, session), failure, listening)
    if failure:
        raise LlmopsError(failure[0])


@dataclass(frozen=True)
class _Parts:
    """What one server process serves with: opened by the process itself, or (socket, session) by its parent."""

    records: DeploymentRecords
    limits: ServerLimits
    log: ProductionLog
    telemetry: EndpointTelemetry
    sock: socket.socket
    session: LlmSession
    seed: int | None = None
    all_ready: Callable[[], bool] | None = None
    ready: Callable[[], None] | None = None


def _serve(cleanup: ExitStack, plan: ServerPlan, parts: _Parts, failure: list[str],
           listening: Callable[[int], None] | None) -> None:
    node_pool = NodePool(max(1, plan.threads) * NODE_THREADS_PER_THREAD)
    cleanup.callback(node_pool.shutdown, wait=False, cancel_futures=True)
    state = LiveState(parts.records, plan.state_dir, plan.endpoint, parts.session, node_pool,
                      plan.seed if parts.seed is None else parts.seed)
    mirror = Mirror()
    app = EndpointApp(plan.endpoint, state, parts.log,
                      AppOptions(parts.limits, plan.listen.key, plan.sticky_header, parts.all_ready),
                      mirror, parts.telemetry)
    server: asgi_server.AsgiServer | None = None

    async def load() -> None:
        try:
            await state.current()
        except Exception as error:  # not ready and never will be: stop, and say why
            if not isinstance(error, LlmopsError):
                logger.exception("endpoint %s could not load its deployments", plan.endpoint)
            failure.append(f"endpoint {plan.endpoint} could not load its deployments: {error}")
            assert server is not None
            server.stop()
        else:
            if parts.ready is not None:
                parts.ready()
            logger.info("endpoint %s ready", plan.endpoint)

    async def stopping() -> None:
        await mirror.drain(MIRROR_GRACE_S)

    server = asgi_server.AsgiServer(app, parts.sock, parts.limits, load, stopping)
    if listening is not None:
        listening(int(parts.sock.getsockname()[1]))
    server.run()


# A worker's traffic draws are its own sequence when a seed fixes them (tests): the same seed in every worker would
# repeat one worker's draws in the others.
WORKER_SEED_STRIDE = 7919


def _run_workers(plan: ServerPlan, records: Callable[[], DeploymentRecords], open_session: Callable[[], LlmSession],
                 environ: Mapping[str, str], listening: Callable[[int], None]) -> None:
    limits = plan.limits.with_environment(environ)
    shipping_settings(environ)  # a bad shipping setting is said once, here, before any worker starts
    location = log_location(plan.state_dir, plan.endpoint, environ)
    board = ReadyBoard(plan.workers)
    with ExitStack() as cleanup:
        sock = listening_socket(plan.listen.host, plan.listen.port)
        cleanup.callback(sock.close)
        session = cleanup.enter_context(open_session())  # the one gateway every worker calls

        def serve_worker(number: int) -> None:  # in the forked worker
            session.use_from_forked_process()
            failure: list[str] = []
            with ExitStack() as worker_cleanup:
                opened = records()
                worker_cleanup.callback(opened.close)
                log = worker_cleanup.enter_context(production_log(
                    worker_log(location, number), plan.endpoint, plan.deployment, plan.log_max_bytes, environ))
                telemetry = from_environment(plan.endpoint, environ, worker=number)
                worker_cleanup.callback(telemetry.shutdown)
                seed = None if plan.seed is None else plan.seed + WORKER_SEED_STRIDE * number
                _serve(worker_cleanup, plan, _Parts(opened, limits.for_worker(number, plan.workers), log, telemetry,
                                                    sock, session, seed, board.all_ready,
                                                    lambda: board.mark(number, True)), failure, None)
            if failure:
                raise LlmopsError(failure[0])

        supervisor = Supervisor(plan.endpoint, plan.workers, serve_worker, board)
        supervisor.run(lambda: _started(plan, sock, supervisor, listening))


def _started(plan: ServerPlan, sock: socket.socket, supervisor: Supervisor, listening: Callable[[int], None]) -> None:
    logger.info("endpoint %s: %d workers (pids %s) on one socket", plan.endpoint, plan.workers,
                ", ".join(map(str, supervisor.pids())))
    listening(int(sock.getsockname()[1]))
