"""Start, find, reuse and stop the embedded model's OpenAI-compatible server on 127.0.0.1.

One server per model and state directory, recorded in `<state_dir>/embedded/<name>.json` so that
later commands reuse it instead of loading the model again.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from llmops.errors import LlmopsError, NotFoundError, StepFailed
from llmops.file_lock import exclusive_lock
from llmops.llm.embedded import processes
from llmops.llm.embedded.assembly import is_verified
from llmops.llm.embedded.catalog import ModelSpec, get_model
from llmops.llm.embedded.child import BOOT_CODE, ServerSettings
from llmops.llm.embedded.locations import model_file, resolve_models_dir, server_dir, server_log_file
from llmops.llm.embedded.loopback import ServerUnavailable, get_json
from llmops.llm.embedded.records import ServerRecord, delete_record, read_record, write_record
from llmops.version import PACKAGE_DIR

logger = logging.getLogger(__name__)

INSTALL_HINT = "install it first: llmops model install --model {name}"
DEFAULT_THREADS = 2
DEFAULT_CONTEXT_TOKENS = 4096  # room for few-shot prompts plus the answer
DEFAULT_STARTUP_TIMEOUT = 180.0


def find_running(name: str, state_dir: Path | str) -> ServerRecord | None:
    """The record of a live server for `name` serving the pinned file, or None."""
    spec = get_model(name)
    record = read_record(Path(state_dir), spec.name)
    if record is None or record.sha256 != spec.sha256 or not processes.is_our_server(record.pid):
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
    with exclusive_lock(server_dir(state) / f"{spec.name}.lock"):
        running = find_running(spec.name, state)
        if running is not None and running.prompt_reuse == prompt_reuse:
            logger.info("reusing embedded server %s at %s (pid %d)", spec.name, running.address, running.pid)
            return running.base_url, False
        _clear_stale(state, spec.name)
        record = _start(spec, state, resolve_models_dir(models_dir), threads, context_tokens, prompt_reuse)
        return record.base_url, True


def stop(name: str, state_dir: Path | str) -> bool:
    """Stop the server recorded for `name`; True if a process was stopped."""
    state = Path(state_dir).resolve()
    spec = get_model(name)
    with exclusive_lock(server_dir(state) / f"{spec.name}.lock"):
        return _clear_stale(state, spec.name)


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


def _clear_stale(state: Path, name: str) -> bool:
    record = read_record(state, name)
    if record is None:
        return False
    stopped = False
    if processes.is_our_server(record.pid):
        logger.info("stopping embedded server %s (pid %d)", name, record.pid)
        processes.terminate(record.pid)
        stopped = True
    delete_record(state, name)
    return stopped


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
    process = processes.launch([sys.executable, "-c", BOOT_CODE, settings.to_json()],
                               _child_environment(threads), log_path)
    address = _wait_until_ready(spec.name, process.pid, ready_file, log_path)
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
    write_record(state, record)
    logger.info("embedded server %s ready at %s in %.1f s", spec.name, address, record.startup_seconds)
    return record


def _child_environment(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    # Without OMP_PROC_BIND=close, 2-thread decode speed was measured to swing down to 4 tokens/s.
    env["OMP_PROC_BIND"] = "close"
    env["OMP_NUM_THREADS"] = str(threads)
    # The child imports llmops; make that work from a checkout that is not pip-installed.
    package_root = str(PACKAGE_DIR.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    return env


def _wait_until_ready(name: str, pid: int, ready_file: Path, log_path: Path) -> str:
    deadline = time.monotonic() + DEFAULT_STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        code = processes.exit_code(pid)
        if code is not None:
            raise StepFailed(
                f"embedded server '{name}' exited with code {code} while starting; "
                f"see the end of {log_path}:\n{_tail(log_path)}"
            )
        if ready_file.exists():
            address = str(json.loads(ready_file.read_text(encoding="utf-8"))["address"])
            ready_file.unlink(missing_ok=True)
            if _healthy(address, deadline):
                return address
            break
        time.sleep(0.1)
    processes.terminate(pid)
    raise StepFailed(
        f"embedded server '{name}' did not become healthy within {DEFAULT_STARTUP_TIMEOUT:.0f} s and was "
        f"stopped; see the end of {log_path}:\n{_tail(log_path)}"
    )


def _healthy(address: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            if get_json(f"{address}/health", timeout=5.0).get("status") == "ok":
                return True
        except ServerUnavailable:
            pass  # 503 while the model loads
        time.sleep(0.1)
    return False


def _serves(address: str, alias: str, timeout: float) -> bool:
    try:
        listing = get_json(f"{address}/v1/models", timeout=timeout)
    except ServerUnavailable as error:
        logger.info("recorded embedded server at %s does not answer: %s", address, error)
        return False
    return any(entry.get("id") == alias for entry in listing.get("data", []))


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
