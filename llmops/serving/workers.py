"""Several worker processes on one endpoint server's listening socket: start them, watch them, stop them.

One process is bound by the GIL: HTTP, the app and the production log cost about 0.25 ms of CPU per request
against a line of about 0.55 (endpoint_server.py), so at 100 clients one process serves about 0.6x the line rate
in process. With WORKERS above 1 the server's process becomes a parent that binds the socket and opens the LLM
session (the gateway, and the embedded model when a connection needs it), then forks the workers. Each worker
runs the server of server_assembly.py on the inherited socket (the kernel hands each connection to one of the
processes accepting on it), with what must be its own:
- its deployments, node pool, mirror and telemetry (OpenTelemetry's exporters hold threads a fork would lose);
- its production log file (production_log.worker_log), rotated and shipped by its one writer; readers merge
  them (read_entries);
- its share of the bound on requests in flight (ServerLimits.for_worker), so the server's total holds.
And what all share: the parent's LLM gateway, to which a worker's routes are registered over loopback
(LlmSession.use_from_forked_process), so each upstream's concurrency bound and the accounting hold for all of
them. Readiness answers for the whole server: a worker says ready only once every worker has loaded (ReadyBoard),
so while a restarted worker loads, /ready answers 503 and a platform holds traffic back for those seconds; /score
is still answered by every worker that has loaded.

SIGTERM or SIGINT to the parent stops the workers (each finishes its requests in flight and closes its log, as a
one-process server does), then the parent closes the gateway. A worker that dies otherwise is started again, up
to MAX_RESTARTS within RESTART_WINDOW_S; past that, or when a worker cannot load its deployments (which no
restart mends), the parent stops the others and exits non-zero with the reason, so `endpoint up` or the
platform shows why (and a platform restarts the container). A worker stops by itself when its parent dies.
"""

from __future__ import annotations

import ctypes
import logging
import mmap
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from llmops.errors import LlmopsError
from llmops.serving import server_log

logger = logging.getLogger(__name__)

LOAD_FAILED = 3  # a worker's exit code when its deployments cannot be loaded: the whole server stops
MAX_RESTARTS = 5
RESTART_WINDOW_S = 60.0
STOP_TIMEOUT_S = 28.0  # under process.STOP_TIMEOUT_S, after which `endpoint down` kills the parent
POLL_S = 0.1
SIGNALS = (signal.SIGTERM, signal.SIGINT)
_PR_SET_PDEATHSIG = 1
_REASON_BYTES = 4096


class ReadyBoard:
    """One byte per worker in memory shared across fork: 1 once the worker's deployments are loaded."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._bytes = mmap.mmap(-1, workers)
        self._all = b"\x01" * workers

    def mark(self, worker: int, ready: bool) -> None:
        self._bytes[worker] = 1 if ready else 0

    def all_ready(self) -> bool:
        return self._bytes[:] == self._all


@dataclass
class _Worker:
    number: int
    pid: int
    reasons: int  # the read end of the pipe a worker writes why it could not load


@dataclass
class Supervisor:
    """Forks `workers` processes that each run `serve(number)`; `serve` returns when its server stopped and raises
    LlmopsError when its deployments cannot be loaded."""

    endpoint: str
    workers: int
    serve: Callable[[int], None]
    board: ReadyBoard
    _running: dict[int, _Worker] = field(default_factory=dict)
    _restarts: list[float] = field(default_factory=list)
    _stopping: bool = False

    def run(self, started: Callable[[], None]) -> None:
        """Serve until SIGTERM or SIGINT; `started` runs once every worker is forked. Raises LlmopsError when the
        server cannot go on (a worker that cannot load, or one that keeps dying)."""
        previous = {sig: signal.signal(sig, self._stop) for sig in SIGNALS}
        failure: str | None = None
        try:
            for number in range(self.workers):
                self._fork(number)
            started()
            failure = self._watch()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if failure is not None:
            raise LlmopsError(failure)

    def pids(self) -> list[int]:
        return sorted(worker.pid for worker in self._running.values())

    def _stop(self, signum: int, frame: object) -> None:
        self._stopping = True

    def _fork(self, number: int) -> None:
        self.board.mark(number, False)
        reasons, report = os.pipe()
        parent = os.getpid()
        # Held until the worker has its own handlers: a SIGTERM in between would reach the parent's handler in the
        # worker, which only notes it, and the worker would serve on until killed.
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the parent's frames (their cleanup is the parent's)
            os.close(reasons)
            os._exit(self._worker(number, parent, report))
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
        os.close(report)
        self._running[pid] = _Worker(number, pid, reasons)
        logger.info("endpoint %s: worker %d started (pid %d)", self.endpoint, number, pid)

    def _worker(self, number: int, parent: int, report: int) -> int:
        code = 0
        try:
            for sig in SIGNALS:
                signal.signal(sig, signal.SIG_DFL)  # until the worker's server takes them over
            signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
            _die_with_parent(parent)
            server_log.follow_in_worker()
            self.serve(number)
        except LlmopsError as error:
            os.write(report, str(error).encode("utf-8", "replace")[:_REASON_BYTES])
            code = LOAD_FAILED
        except BaseException:
            logger.exception("endpoint %s: worker %d failed", self.endpoint, number)
            code = 1
        finally:
            logging.shutdown()  # flushes server.log: os._exit skips what an exit would do
        return code

    def _watch(self) -> str | None:
        while self._running and not self._stopping:
            exited = self._exited()
            if exited is None:
                time.sleep(POLL_S)
                continue
            worker, status = exited
            self.board.mark(worker.number, False)
            reason = _read_reason(worker.reasons)
            code = os.waitstatus_to_exitcode(status)
            if self._stopping:
                break
            if code == LOAD_FAILED:
                return reason or f"endpoint {self.endpoint}: worker {worker.number} could not load its deployments"
            how = f"exit code {code}" if code >= 0 else f"signal {signal.Signals(-code).name}"
            now = time.monotonic()
            self._restarts = [t for t in self._restarts if now - t < RESTART_WINDOW_S] + [now]
            if len(self._restarts) > MAX_RESTARTS:
                return (f"endpoint {self.endpoint}: workers died {len(self._restarts)} times within "
                        f"{RESTART_WINDOW_S:.0f} s (the last, worker {worker.number}, with {how}); see server.log")
            logger.warning("endpoint %s: worker %d (pid %d) died with %s; starting it again", self.endpoint,
                           worker.number, worker.pid, how)
            self._fork(worker.number)
        return None

    def _exited(self) -> tuple[_Worker, int] | None:
        """A worker that exited, reaped, with its wait status. Only the workers are waited for: the session's own
        children (the embedded model's server) are its to reap."""
        for pid in list(self._running):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return self._running.pop(pid), status
        return None

    def _stop_all(self) -> None:
        """SIGTERM to every worker (each finishes its requests and closes its log), SIGKILL to any left after
        STOP_TIMEOUT_S."""
        for worker in self._running.values():
            _signal(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while self._running and time.monotonic() < deadline:
            for pid in list(self._running):
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    self._release(pid)
            time.sleep(POLL_S)
        for pid in list(self._running):
            logger.error("endpoint %s: worker pid %d did not stop within %.0f s; killed", self.endpoint, pid,
                         STOP_TIMEOUT_S)
            _signal(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            self._release(pid)

    def _release(self, pid: int) -> None:
        worker = self._running.pop(pid)
        self.board.mark(worker.number, False)
        os.close(worker.reasons)


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass  # gone already; waitpid reaps it


def _read_reason(fd: int) -> str:
    try:
        return os.read(fd, _REASON_BYTES).decode("utf-8", "replace")
    finally:
        os.close(fd)


def _die_with_parent(parent: int) -> None:
    """SIGTERM this worker when its parent dies (killed past its stop timeout): no worker outlives its server."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the parent's stop is the only way
        return
    if os.getppid() != parent:  # it died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)
