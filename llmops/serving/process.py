"""The endpoint server as a background process: start it detached, find it, stop it.

`<state>/endpoints/<endpoint>.json` records the pid, port and URLs; the server writes it once it
listens and removes it when it exits. Its stderr goes to `<state>/endpoints/<endpoint>/server.log`.
Starting holds `<state>/endpoints/<endpoint>.lock`: of two `endpoint up` at once, the second waits for
the first's server to answer, then finds it running, instead of starting another.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from llmops import background
from llmops.background import ServerRecords
from llmops.serving.client import get_json
from llmops.serving.endpoint_key import KEY_ENV
from llmops.serving.ports import check_free

PROCESS_MARKER = "llmops.serving"  # `python -m llmops.serving`: what /proc/<pid>/cmdline of a server holds
START_TIMEOUT_S = 180.0  # prompt flow imports and, with the embedded model, its start take a while
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ServerInfo:
    endpoint: str
    use_case: str
    env: str
    provider: str
    pid: int
    port: int
    url: str  # http://127.0.0.1:<port>
    started_at: str
    server_log: str

    @property
    def scoring_url(self) -> str:
        return f"{self.url}/score"

    @property
    def health_url(self) -> str:
        return f"{self.url}/health"

    @property
    def readiness_url(self) -> str:
        return f"{self.url}/ready"


def endpoints_dir(state_dir: Path) -> Path:
    return state_dir / "endpoints"


def servers(state_dir: Path) -> ServerRecords[ServerInfo]:
    return ServerRecords(endpoints_dir(state_dir), ServerInfo, PROCESS_MARKER, "endpoint server")


def info_path(state_dir: Path, endpoint: str) -> Path:
    return servers(state_dir).path(endpoint)


def server_log_path(state_dir: Path, endpoint: str) -> Path:
    return endpoints_dir(state_dir) / endpoint / "server.log"


def healthy(info: ServerInfo, timeout: float = 5.0) -> bool:
    try:
        status, _ = get_json(info.health_url, timeout)
    except OSError:
        return False
    return status == 200


def ready(info: ServerInfo, timeout: float = 5.0) -> bool:
    """Its deployments are loaded (a server answers liveness before that)."""
    try:
        status, _ = get_json(info.readiness_url, timeout)
    except OSError:
        return False
    return status == 200


def running(state_dir: Path, endpoint: str) -> ServerInfo | None:
    """The server's record when its process is alive; a stale record (the process died) is removed."""
    return servers(state_dir).running(endpoint)


@dataclass(frozen=True)
class ServeOptions:
    """How to run one endpoint's server: given to `start` here and, as arguments, to the server process."""

    root: Path
    state_dir: Path
    use_case: str
    env: str
    endpoint: str
    provider: str = "auto"
    embedded_model: str = "qwen-1.5b"
    env_file: Path | None = None
    port: int = 0
    host: str = "127.0.0.1"  # anything but loopback needs a key (server_settings.Listen)
    threads: int = 8
    seed: int | None = None
    log_max_bytes: int | None = None  # None: the production log's default (10 MiB)
    key: str | None = field(default=None, repr=False)  # passed in the server's environment, never in its argv
    receive_timeout_s: float | None = None  # None: server_settings.ServerLimits' default; tests make it small


def command(options: ServeOptions) -> list[str]:
    args = [sys.executable, "-m", "llmops.serving", "--root", str(options.root), "--state-dir",
            str(options.state_dir), "--use-case", options.use_case, "--env", options.env, "--endpoint",
            options.endpoint, "--provider", options.provider, "--model", options.embedded_model, "--host",
            options.host, "--port", str(options.port), "--threads", str(options.threads)]
    if options.env_file is not None:
        args += ["--env-file", str(options.env_file)]
    if options.seed is not None:
        args += ["--seed", str(options.seed)]
    if options.log_max_bytes is not None:
        args += ["--log-max-bytes", str(options.log_max_bytes)]
    if options.receive_timeout_s is not None:
        args += ["--receive-timeout", str(options.receive_timeout_s)]
    return args


def start(options: ServeOptions, timeout: float = START_TIMEOUT_S) -> tuple[ServerInfo, bool]:
    """Start the server unless it runs already; returns (its record, True when this call started it)."""
    records = servers(options.state_dir)
    with records.lock(options.endpoint):
        existing = records.running(options.endpoint)
        if existing is not None:
            return existing, False
        check_free(options.port, options.host)
        return _spawn(options, records, timeout), True


def _spawn(options: ServeOptions, records: ServerRecords[ServerInfo], timeout: float) -> ServerInfo:
    log_file = server_log_path(options.state_dir, options.endpoint)
    env = background.python_environment()
    if options.key is not None:
        env[KEY_ENV] = options.key
    # Appended to: the server rotates server.log itself and keeps its stderr there (server_log.py).
    proc = background.launch(command(options), env, log_file, append=True, stdout=False)

    def answering() -> ServerInfo | None:  # the server writes its record once it listens, then loads
        info = records.read(options.endpoint)
        return info if info is not None and info.pid == proc.pid and ready(info) else None

    return background.wait_until_ready(proc, answering, timeout, f"endpoint server '{options.endpoint}'", log_file)


def stop(state_dir: Path, endpoint: str, timeout: float = STOP_TIMEOUT_S) -> ServerInfo | None:
    """Stop the server (SIGTERM: in-flight requests finish, then SIGKILL after `timeout`); None if not running."""
    return servers(state_dir).stop(endpoint, timeout)
