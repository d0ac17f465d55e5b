"""The endpoint server process: one LLM session, the live deployments, waitress on loopback.

Started by `llmops endpoint up` as `python -m llmops.serving ...` (see process.py); it writes its
record once it listens and removes it when SIGTERM (`llmops endpoint down`) stops it.
"""

from __future__ import annotations

import logging
import os
import signal
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from llmops.backends.local.engine.line_loop import LineLoop
from llmops.backends.local.engine.promptflow_env import configure_promptflow
from llmops.backends.local.registry import endpoints as endpoint_registry
from llmops.config.deployment_config import LocalEndpoint
from llmops.config.use_case import UseCase, load_use_case
from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError
from llmops.serving import process
from llmops.serving.app import EndpointApp
from llmops.serving.endpoint_config import local_endpoint
from llmops.serving.endpoint_key import EndpointKey
from llmops.serving.guard import GuardedServer, Limits
from llmops.serving.live_state import LiveState
from llmops.serving.ports import LOOPBACK, port_error
from llmops.serving.process import ServeOptions
from llmops.serving.production_log import DEFAULT_MAX_BYTES, ProductionLog, log_path

if TYPE_CHECKING:
    from llmops.llm.session import LlmSession

logger = logging.getLogger(__name__)


def open_session(workspace: Workspace, options: ServeOptions, use_case: UseCase) -> LlmSession:
    from llmops.llm.open_session import open_session as open_llm_session

    return open_llm_session(workspace, use_case, options.env, [use_case.standard_flow(options.env)],
                            provider=options.provider, env_file=options.env_file,
                            embedded_model=options.embedded_model, start_model_now=True)


def endpoint_key(block: LocalEndpoint, options: ServeOptions) -> EndpointKey | None:
    if not block.AUTH_KEY_VARIABLE:
        return None
    if not options.key:  # the config asks for a key and none came: refuse to serve without one
        raise LlmopsError(f"local_endpoint for env '{options.env}' has AUTH_KEY_VARIABLE "
                          f"'{block.AUTH_KEY_VARIABLE}' but the server was given no key; start it with llmops "
                          "endpoint up, which reads the key from .env or the environment")
    return EndpointKey(block.AUTH_KEY_VARIABLE, options.key)


def limits(block: LocalEndpoint, options: ServeOptions) -> Limits:
    return Limits(max_body_bytes=block.MAX_REQUEST_BODY_BYTES,
                  receive_timeout_s=options.receive_timeout_s or Limits.receive_timeout_s)


def _stop(signum: int, frame: Any) -> None:
    raise SystemExit(0)  # waitress's run() ends on SystemExit and lets in-flight requests finish


def serve(options: ServeOptions) -> None:
    workspace = Workspace(root=options.root, state_dir=options.state_dir, reports_dir=options.root / "reports")
    configure_promptflow(options.state_dir)
    endpoint_registry.get_endpoint(options.state_dir, options.endpoint)  # `endpoint up` registered it
    use_case = load_use_case(workspace, options.use_case)
    block = local_endpoint(use_case, options.env)
    key = endpoint_key(block, options)
    max_bytes = DEFAULT_MAX_BYTES if options.log_max_bytes is None else options.log_max_bytes
    log = ProductionLog(log_path(options.state_dir, options.endpoint), max_bytes)
    signal.signal(signal.SIGTERM, _stop)
    with open_session(workspace, options, use_case) as session:
        state = LiveState(options.state_dir, options.endpoint, session, options.seed)
        lines = LineLoop(callers=options.threads)
        app = EndpointApp(options.endpoint, state, log, lines, block.STICKY_SESSION_HEADER, key=key)
        try:
            server = GuardedServer(app, limits(block, options), host=LOOPBACK, port=options.port,
                                   threads=options.threads, ident="llmops-endpoint", asyncore_use_poll=True)
        except OSError as error:  # another process took the port since `endpoint up` checked it
            raise port_error(options.port, error) from None
        port = int(server.effective_port)
        info = process.ServerInfo(
            endpoint=options.endpoint, use_case=options.use_case, env=options.env, provider=options.provider,
            pid=os.getpid(), port=port, url=f"http://{LOOPBACK}:{port}",
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            server_log=str(process.server_log_path(options.state_dir, options.endpoint)),
        )
        records = process.servers(options.state_dir)
        records.write(options.endpoint, info)
        logger.info("endpoint %s listening on %s (pid %d, provider %s)", options.endpoint, info.url, info.pid,
                    options.provider)
        try:
            server.run()
        finally:
            server.close()
            app.mirror.close()
            lines.close()
            log.close()
            state.close()
            records.forget(options.endpoint, os.getpid())  # unless a newer server's record replaced it
            logger.info("endpoint %s stopped", options.endpoint)


def check_port(port: int) -> int:
    if not 0 <= port <= 65535:
        raise LlmopsError(f"--port {port} is not a TCP port; use 0 (any free port) or 1-65535")
    return port
