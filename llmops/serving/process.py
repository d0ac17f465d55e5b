"""The endpoint server as a background process: start it detached, find it, stop it.

`<state>/endpoints/<endpoint>.json` records the pid, port and URLs; the server writes it once it
listens and removes it when it exits. Its stderr goes to `<state>/endpoints/<endpoint>/server.log`.
Starting holds `<state>/endpoints/<endpoint>.lock`: of two `endpoint up` at once, the second waits for
the first's server to answer, then finds it running, instead of starting another.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from llmops.errors import StepFailed
from llmops.file_lock import exclusive_lock
from llmops.serving.client import get_json
from llmops.serving.endpoint_key import KEY_ENV
from llmops.serving.ports import check_free

logger = logging.getLogger(__name__)

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


def endpoints_dir(state_dir: Path) -> Path:
    return state_dir / "endpoints"


def info_path(state_dir: Path, endpoint: str) -> Path:
    return endpoints_dir(state_dir) / f"{endpoint}.json"


def server_log_path(state_dir: Path, endpoint: str) -> Path:
    return endpoints_dir(state_dir) / endpoint / "server.log"


def write_info(state_dir: Path, info: ServerInfo) -> None:
    path = info_path(state_dir, info.endpoint)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(asdict(info), indent=2), encoding="utf-8")
    os.replace(partial, path)  # readers never see half a file


def remove_info(state_dir: Path, endpoint: str, pid: int) -> None:
    """Remove the record only if it is still this process's (a new server may have replaced it)."""
    found = read_info(state_dir, endpoint)
    if found is not None and found.pid == pid:
        info_path(state_dir, endpoint).unlink(missing_ok=True)


def read_info(state_dir: Path, endpoint: str) -> ServerInfo | None:
    path = info_path(state_dir, endpoint)
    try:
        return ServerInfo(**json.loads(path.read_text(encoding="utf-8")))
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        return None


def alive(pid: int) -> bool:
    try:
        # Reap it if it is our own child that exited, else a zombie would look alive.
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def healthy(info: ServerInfo, timeout: float = 5.0) -> bool:
    try:
        status, _ = get_json(info.health_url, timeout)
    except OSError:
        return False
    return status == 200


def running(state_dir: Path, endpoint: str) -> ServerInfo | None:
    """The server's record when its process is alive; a stale record (the process died) is removed."""
    info = read_info(state_dir, endpoint)
    if info is None:
        return None
    if not alive(info.pid):
        logger.info("endpoint %s: removing the record of dead server process %d", endpoint, info.pid)
        remove_info(state_dir, endpoint, info.pid)
        return None
    return info


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
    threads: int = 8
    seed: int | None = None
    log_max_bytes: int | None = None  # None: the production log's default (10 MiB)
    key: str | None = field(default=None, repr=False)  # passed in the server's environment, never in its argv
    receive_timeout_s: float | None = None  # None: guard.Limits' default; tests make it small


def command(options: ServeOptions) -> list[str]:
    args = [sys.executable, "-m", "llmops.serving", "--root", str(options.root), "--state-dir",
            str(options.state_dir), "--use-case", options.use_case, "--env", options.env, "--endpoint",
            options.endpoint, "--provider", options.provider, "--model", options.embedded_model, "--port",
            str(options.port), "--threads", str(options.threads)]
    if options.env_file is not None:
        args += ["--env-file", str(options.env_file)]
    if options.seed is not None:
        args += ["--seed", str(options.seed)]
    if options.log_max_bytes is not None:
        args += ["--log-max-bytes", str(options.log_max_bytes)]
    if options.receive_timeout_s is not None:
        args += ["--receive-timeout", str(options.receive_timeout_s)]
    return args


def lock_path(state_dir: Path, endpoint: str) -> Path:
    return endpoints_dir(state_dir) / f"{endpoint}.lock"


def start(options: ServeOptions, timeout: float = START_TIMEOUT_S) -> tuple[ServerInfo, bool]:
    """Start the server unless it runs already; returns (its record, True when this call started it)."""
    with exclusive_lock(lock_path(options.state_dir, options.endpoint)):
        existing = running(options.state_dir, options.endpoint)
        if existing is not None:
            return existing, False
        check_free(options.port)
        return _spawn(options, timeout), True


def _spawn(options: ServeOptions, timeout: float) -> ServerInfo:
    log_file = server_log_path(options.state_dir, options.endpoint)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    package_parent = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH"))
                                                       if p)}
    if options.key is not None:
        env[KEY_ENV] = options.key
    with log_file.open("ab") as stderr:
        # A session of its own: the server outlives the command that started it and ignores its Ctrl-C.
        proc = subprocess.Popen(command(options), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=stderr, env=env, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StepFailed(f"endpoint server '{options.endpoint}' exited with code {proc.returncode} while "
                             f"starting; last lines of {log_file}:\n{tail(log_file)}")
        info = read_info(options.state_dir, options.endpoint)
        if info is not None and info.pid == proc.pid and healthy(info):
            return info
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise StepFailed(f"endpoint server '{options.endpoint}' did not answer /health within {timeout:.0f} s; "
                     f"last lines of {log_file}:\n{tail(log_file)}")


def stop(state_dir: Path, endpoint: str, timeout: float = STOP_TIMEOUT_S) -> ServerInfo | None:
    """Stop the server (SIGTERM: in-flight requests finish, then SIGKILL after `timeout`); None if not running."""
    info = running(state_dir, endpoint)
    if info is None:
        return None
    os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(info.pid):
        if time.monotonic() > deadline:
            logger.warning("endpoint %s: server %d ignored SIGTERM for %.0f s; killing it", endpoint, info.pid,
                           timeout)
            os.kill(info.pid, signal.SIGKILL)
            time.sleep(0.2)
            break
        time.sleep(0.05)
    remove_info(state_dir, endpoint, info.pid)
    return info


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
