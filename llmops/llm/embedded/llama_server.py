"""Start, find, reuse and stop the embedded model's llama.cpp server (OpenAI-compatible, on 127.0.0.1).

One server per model and state directory, recorded in `<state_dir>/embedded/<name>.json` so that
later commands reuse it instead of loading the model again. The process mechanics (detached start,
pid records checked against /proc, SIGTERM then SIGKILL, the start lock) are llmops/background.py's.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from llmops import background
from llmops.background import ServerRecords
from llmops.errors import LlmopsError, NotFoundError
from llmops.llm.embedded.assembly import is_verified
from llmops.llm.embedded.catalog import ModelSpec, get_model
from llmops.llm.embedded.child import BOOT_CODE, PROCESS_MARKER, ServerSettings
from llmops.llm.embedded.locations import model_file, resolve_models_dir, server_dir, server_log_file
from llmops.llm.embedded.loopback import ServerUnavailable, get_json

logger = logging.getLogger(__name__)

INSTALL_HINT = "install it first: llmops embedded install --model {name}"
DEFAULT_THREADS = 2
DEFAULT_CONTEXT_TOKENS = 4096  # room for few-shot prompts plus the answer
DEFAULT_STARTUP_TIMEOUT = 180.0
STOP_GRACE_S = 15.0


@dataclass(frozen=True)
class ServerRecord:
    name: str
    pid: int
    port: int
    address: str  # http://127.0.0.1:<port>, the server root (/health lives here)
    model_path: str
    sha256: str
    threads: int
    context_tokens: int
    started_at: str  # ISO 8601, UTC
    startup_seconds: float
    log_path: str
    # Whether the server reuses prompt prefixes across requests (see child.py). Records written before the
    # field existed are of servers that did, and such a server is replaced rather than reused.
    prompt_reuse: bool = True

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (what an OpenAI client or a prompt flow connection takes)."""
        return f"{self.address}/v1"


def servers(state_dir: Path | str) -> ServerRecords[ServerRecord]:
    return ServerRecords(server_dir(Path(state_dir)), ServerRecord, PROCESS_MARKER, "embedded server")


def find_running(name: str, state_dir: Path | str) -> ServerRecord | None:
    """The record of a live server for `name` serving the pinned file, or None."""
    spec = get_model(name)
    record = servers(state_dir).running(spec.name)
    if record is None or record.sha256 != spec.sha256:
        return None
    return record if _serves(record.address, spec.name, timeout=5.0) else None


def ensure_running(
    name: str,
    state_dir: Path | str,
    models_dir: Path | None = None,
    threads: int = DEFAULT_THREADS,
    context_tokens: int = DEFAULT_CONTEXT_TOKENS,
    *,
    prompt_reuse: bool = False,
) -> tuple[str, bool]:
    """(OpenAI base URL, started_here): reuse the live server recorded in state_dir, else start one.

    A live server is reused whatever threads and context it was started with. A recorded server that
    is dead, serves another file, does not answer within 5 s or reuses prompt prefixes when not asked to
    (its answers would depend on the order of calls) is stopped and replaced. `prompt_reuse` is there to
    measure what reproducible answers cost (see child.py); llmops itself never turns it on.
    """
    state = Path(state_dir).resolve()
    spec = get_model(name)
    records = servers(state)
    with records.lock(spec.name):
        running = find_running(spec.name, state)
        if running is not None and running.prompt_reuse == prompt_reuse:
            logger.info("reusing embedded server %s at %s (pid %d)", spec.name, running.address, running.pid)
            return running.base_url, False
        records.stop(spec.name, STOP_GRACE_S)
        record = _start(spec, state, resolve_models_dir(models_dir), threads, context_tokens, prompt_reuse)
        return record.base_url, True


def stop(name: str, state_dir: Path | str) -> bool:
    """Stop the server recorded for `name`; True if a process was stopped (a stale record is removed)."""
    records = servers(Path(state_dir).resolve())
    spec = get_model(name)
    with records.lock(spec.name):
        return records.stop(spec.name, STOP_GRACE_S) is not None


@contextmanager
def embedded_server(
    name: str,
    state_dir: Path | str,
    models_dir: Path | None = None,
    threads: int = DEFAULT_THREADS,
    context_tokens: int = DEFAULT_CONTEXT_TOKENS,
    *,
    prompt_reuse: bool = False,
) -> Iterator[str]:
    """Yield the OpenAI base URL of a running server; on exit stop it only if this call started it."""
    base_url, started_here = ensure_running(name, state_dir, models_dir, threads, context_tokens,
                                            prompt_reuse=prompt_reuse)
    try:
        yield base_url
    finally:
        if started_here:
            stop(name, state_dir)


def check_startable(name: str, models_dir: Path | None = None) -> Path:
    """The verified model file, or the error that starting a server for it would raise (fast: no start)."""
    spec = get_model(name)
    folder = resolve_models_dir(models_dir)
    path = model_file(folder, spec.name)
    if not is_verified(path, spec.sha256):
        raise NotFoundError(
            f"embedded model '{spec.name}' is not installed in {folder} (no verified {path.name}); "
            + INSTALL_HINT.format(name=spec.name)
        )
    if importlib.util.find_spec("xllamacpp") is None:
        raise LlmopsError(
            f"the embedded server needs the package 'xllamacpp', missing from {sys.prefix}; "
            "install it with: pip install 'llmops[embedded]'"
        )
    return path


def _start(
    spec: ModelSpec, state: Path, models_dir: Path, threads: int, context_tokens: int, prompt_reuse: bool
) -> ServerRecord:
    path = check_startable(spec.name, models_dir)
    ready_file = server_dir(state) / f"{spec.name}.ready"
    ready_file.unlink(missing_ok=True)
    log_path = server_log_file(state, spec.name)
    settings = ServerSettings(str(path), spec.name, str(ready_file), threads, context_tokens,
                              prompt_reuse=prompt_reuse)
    logger.info("starting embedded server %s (%s, %d threads, context %d%s)", spec.name, path, threads,
                context_tokens, ", prompt reuse on" if prompt_reuse else "")
    started = time.perf_counter()
    process = background.launch([sys.executable, "-c", BOOT_CODE, settings.to_json()],
                                _child_environment(threads), log_path)

    def healthy_address() -> str | None:  # the child reports its address once the port is bound
        if not ready_file.exists():
            return None
        address = str(json.loads(ready_file.read_text(encoding="utf-8"))["address"])
        return address if _healthy(address) else None  # 503 while the model loads

    address = background.wait_until_ready(process, healthy_address, DEFAULT_STARTUP_TIMEOUT,
                                          f"embedded server '{spec.name}'", log_path)
    ready_file.unlink(missing_ok=True)
    record = ServerRecord(
        name=spec.name,
        pid=process.pid,
        port=int(address.rsplit(":", 1)[1]),
        address=address,
        model_path=str(path),
        sha256=spec.sha256,
        threads=threads,
        context_tokens=context_tokens,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        startup_seconds=round(time.perf_counter() - started, 3),
        log_path=str(log_path),
        prompt_reuse=prompt_reuse,
    )
    servers(state).write(spec.name, record)
    logger.info("embedded server %s ready at %s in %.1f s", spec.name, address, record.startup_seconds)
    return record


def _child_environment(threads: int) -> dict[str, str]:
    env = background.python_environment()  # the child imports llmops
    # Without OMP_PROC_BIND=close, 2-thread decode speed was measured to swing down to 4 tokens/s.
    env["OMP_PROC_BIND"] = "close"
    env["OMP_NUM_THREADS"] = str(threads)
    return env


def _healthy(address: str) -> bool:
    try:
        return bool(get_json(f"{address}/health", timeout=5.0).get("status") == "ok")
    except ServerUnavailable:
        return False


def _serves(address: str, alias: str, timeout: float) -> bool:
    try:
        listing = get_json(f"{address}/v1/models", timeout=timeout)
    except ServerUnavailable as error:
        logger.info("recorded embedded server at %s does not answer: %s", address, error)
        return False
    return any(entry.get("id") == alias for entry in listing.get("data", []))
