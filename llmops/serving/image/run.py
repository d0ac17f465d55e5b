"""Run an image's build context as a local process: the server its ENTRYPOINT starts, without Docker.

    with run_context(context_dir, port=0, deployment="blue") as running:
        running.scoring_url  # http://127.0.0.1:<port>/score

The process imports llmops from the context (its `llmops/` comes first on PYTHONPATH), so it runs the code the
image holds; the packages are this machine's, which requirements.txt pins to the same versions. The caller's
environment is the server's (connections as `aoai={...}` variables), plus `env_vars` (a deployment's
ENVIRONMENT_VARIABLES) and the key. The Azure ML emulator makes each deployment one of these processes.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from llmops import background
from llmops.serving.client import get_json
from llmops.serving.endpoint_key import KEY_ENV
from llmops.serving.image.entry import read_entry
from llmops.serving.ports import LOOPBACK
from llmops.serving.process import START_TIMEOUT_S, STOP_TIMEOUT_S
from llmops.serving.production_log import log_location
from llmops.serving.server_settings import ServerLimits

SERVER_MODULE = "llmops.serving.image"


@dataclass
class RunningContext:
    """A started context server; `stop()` (or leaving the `with`) ends it. Its files stay in `state_dir`."""

    pid: int
    port: int
    endpoint: str
    deployment: str
    state_dir: Path
    log_file: Path  # the server's stderr: its start, its errors, each failed request by id
    production_log: Path  # under state_dir, or LLMOPS_PRODUCTION_LOG_DIR when the environment set it
    probes: tuple[str, str] = ("/health", "/ready")  # liveness and readiness paths (LLMOPS_ENDPOINT_*_PATH)
    stopped: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def scoring_url(self) -> str:
        return f"{self.url}/score"

    @property
    def health_url(self) -> str:
        return f"{self.url}{self.probes[0]}"

    @property
    def readiness_url(self) -> str:
        return f"{self.url}{self.probes[1]}"

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM (in-flight requests finish), then SIGKILL after `timeout`."""
        if not self.stopped:
            background.terminate(self.pid, timeout, f"context server {self.endpoint}/{self.deployment}")
            self.stopped = True

    def __enter__(self) -> RunningContext:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()


def context_command(context_dir: Path, port: int, state_dir: Path, ready_file: Path, *, endpoint: str | None = None,
                    deployment: str | None = None, provider: str | None = None, threads: int = 8) -> list[str]:
    command = [sys.executable, "-m", SERVER_MODULE, "--context", str(context_dir), "--host", LOOPBACK, "--port",
               str(port), "--threads", str(threads), "--state-dir", str(state_dir), "--ready-file", str(ready_file)]
    for flag, value in (("--endpoint", endpoint), ("--deployment", deployment), ("--provider", provider)):
        if value:
            command += [flag, value]
    return command


def run_context(context_dir: Path, port: int = 0, *, state_dir: Path | None = None, endpoint: str | None = None,
                deployment: str | None = None, provider: str | None = None,
                environ: Mapping[str, str] | None = None, env_vars: Mapping[str, str] | None = None,
                key: str | None = None, threads: int = 8, timeout: float = START_TIMEOUT_S) -> RunningContext:
    """Start the context's endpoint server on 127.0.0.1:`port` (0: any free port) and return once it is ready.

    `state_dir`: where the production log, prompt flow's home and the server's log go (default: a new temporary
    folder); `endpoint`/`deployment`: the names to answer with (default: the context's llmops-image.json);
    `environ`: the server's environment (default: this process's); `key`: the endpoint's key (LLMOPS_ENDPOINT_KEY).
    Raises StepFailed with the end of the server's log when it exits or does not answer within `timeout`.
    """
    context_dir = context_dir.resolve()
    entry = read_entry(context_dir)  # a folder that is not a context is refused here, not in the child
    names = (endpoint or entry.endpoint, deployment or entry.deployment)
    state = (state_dir or Path(tempfile.mkdtemp(prefix="llmops-context-"))).resolve()
    state.mkdir(parents=True, exist_ok=True)
    ready_file = state / f"{names[0]}.{names[1]}.ready.json"
    ready_file.unlink(missing_ok=True)
    log_file = state / f"{names[0]}.{names[1]}.server.log"
    env = dict(os.environ if environ is None else environ)
    env.update(env_vars or {})
    env.pop(KEY_ENV, None)  # only the key given here: never one the caller's environment happened to hold
    if key:
        env[KEY_ENV] = key
    limits = ServerLimits().with_environment(env)  # as the server reads them: its probe paths
    production_log = log_location(state, names[0], env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(context_dir), env.get("PYTHONPATH", "")) if p)
    # The names always go as arguments: an LLMOPS_DEPLOYMENT in the caller's environment must not rename the server.
    command = context_command(context_dir, port, state, ready_file, endpoint=names[0], deployment=names[1],
                              provider=provider, threads=threads)
    process = background.launch(command, env, log_file)

    def answering() -> RunningContext | None:
        try:
            info = json.loads(ready_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        running = RunningContext(int(info["pid"]), int(info["port"]), names[0], names[1], state, log_file,
                                 production_log, (limits.liveness_path, limits.readiness_path))
        try:
            status, _ = get_json(running.readiness_url, 5.0)
        except OSError:
            return None
        return running if status == 200 and running.pid == process.pid else None

    return background.wait_until_ready(process, answering, timeout,
                                       f"context server {names[0]}/{names[1]} ({context_dir})", log_file)
