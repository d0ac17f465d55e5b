"""A parallel node run for real: mini-batches spread over `instance_count` nodes of worker processes.

Each node runs `max_concurrency_per_instance` worker processes (node_worker.py); each worker calls the
entry script's `init()` once, then takes mini-batches from one shared queue until none are left.
As in Azure ML:
- a mini-batch whose `run()` raises, whose process dies, or that runs past `retry_settings.timeout`
  is tried again, up to `retry_settings.max_retries` more times; a dead or timed-out process is
  replaced by a new one (which calls `init()` again); finished mini-batches are never redone;
- items `run()` did not return a result for count as failed items; a mini-batch out of retries
  counts as a failed mini-batch and all its items as failed;
- the node fails once failed items exceed `error_threshold` or failed mini-batches exceed
  `mini_batch_error_threshold` (-1: no limit);
- with `append_row_to`, every row `run()` returns is appended to `parallel_run_step.txt` in that output,
  in no particular order.
"""

from __future__ import annotations

import collections
import json
import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..faults import NodeKill
from .inputs import JobFailure
from .mini_batches import MiniBatch

WORKER = Path(__file__).with_name("node_worker.py")
APPEND_ROW_FILE = "parallel_run_step.txt"
INIT_TIMEOUT = 300.0
GONE: dict[str, Any] = {"gone": True}  # what a worker "answers" once its process has exited
MAX_INIT_FAILURES = 3


@dataclass(frozen=True)
class ParallelSettings:
    entry_script: Path
    program_arguments: list[str]
    instance_count: int = 1
    max_concurrency_per_instance: int = 1
    error_threshold: int = -1
    mini_batch_error_threshold: int = -1
    max_retries: int = 3
    timeout: float = 60.0
    append_row_to: Path | None = None


@dataclass(frozen=True)
class Attempt:
    mini_batch: int
    node: int  # 0 .. instance_count - 1
    process: int  # the worker's slot on its node
    pid: int
    outcome: str  # completed, failed (run raised), died, timed out


@dataclass
class ParallelReport:
    """What happened, for tests: every attempt at every mini-batch, and the failure counts."""

    mini_batches: int = 0
    attempts: list[Attempt] = field(default_factory=list)
    failed_items: int = 0
    failed_mini_batches: int = 0

    @property
    def nodes_used(self) -> set[int]:
        return {a.node for a in self.attempts if a.outcome == "completed"}


class _Process:
    """One worker process and the thread that reads its answers."""

    def __init__(self, settings: ParallelSettings, env: dict[str, str], log: IO[bytes]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=settings.entry_script.parent,
            env=env,
            text=True,
        )
        self.answers: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.answers.put(json.loads(line))
        self.answers.put(GONE)

    def ask(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def answer(self, timeout: float) -> dict[str, Any] | None:
        """The next answer, GONE when the process exited, or None when it said nothing within `timeout`."""
        try:
            return self.answers.get(timeout=timeout)
        except queue.Empty:
            return None

    def stop(self) -> None:
        try:
            self.ask({"stop": True})
            self.process.stdin.close()  # type: ignore[union-attr]
            self.process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


class ParallelRun:
    def __init__(
        self,
        settings: ParallelSettings,
        batches: list[MiniBatch],
        env: dict[str, str],
        log_dir: Path,
        kill: NodeKill | None,
        cancel: threading.Event,
    ) -> None:
        self.settings = settings
        self.batches = batches
        self.env = env
        self.log_dir = log_dir
        self.kill = kill
        self.cancel = cancel
        self.report = ParallelReport(mini_batches=len(batches))
        self._pending = collections.deque(batches)
        self._in_flight = 0
        self._tries: collections.Counter[int] = collections.Counter()
        self._abort: str | None = None
        self._condition = threading.Condition()
        self._rows_lock = threading.Lock()

    def run(self) -> ParallelReport:
        if self.settings.append_row_to is not None:
            self.settings.append_row_to.mkdir(parents=True, exist_ok=True)
            (self.settings.append_row_to / APPEND_ROW_FILE).touch()
        threads = [
            threading.Thread(target=self._serve, args=(node, slot), name=f"node{node}-process{slot}")
            for node in range(self.settings.instance_count)
            for slot in range(self.settings.max_concurrency_per_instance)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self._write_summary()
        if self.cancel.is_set():
            raise JobFailure("Canceled.")
        if self._abort:
            raise JobFailure(self._abort)
        return self.report

    def _next(self) -> MiniBatch | None:
        with self._condition:
            while True:
                if self._abort or self.cancel.is_set():
                    return None
                if self._pending:
                    self._in_flight += 1
                    return self._pending.popleft()
                if self._in_flight == 0:
                    return None
                self._condition.wait(timeout=0.5)

    def _done(self) -> None:
        with self._condition:
            self._in_flight -= 1
            self._condition.notify_all()

    def _abort_with(self, message: str) -> None:
        with self._condition:
            self._abort = self._abort or message
            self._condition.notify_all()

    def _start(self, node: int, slot: int, log: IO[bytes]) -> _Process:
        env = {**self.env, "AZUREML_CR_NODE_RANK": str(node), "AZUREML_PROCESS_INDEX": str(slot)}
        for _ in range(MAX_INIT_FAILURES):
            process = _Process(self.settings, env, log)
            answer = process.answer(INIT_TIMEOUT)
            if answer is not None and answer.get("ready"):
                return process
            process.kill()
            error = (answer or {}).get("init_error", "the process exited before init() returned")
            log.write(f"init() failed:\n{error}\n".encode())
        raise JobFailure(f"init() of the entry script failed {MAX_INIT_FAILURES} times on node {node}; see its log.")

    def _serve(self, node: int, slot: int) -> None:
        log_path = self.log_dir / "user" / "stdout" / f"node{node}" / f"process{slot:03d}.stdout.txt"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        process: _Process | None = None
        with log_path.open("ab") as log:
            try:
                while (batch := self._next()) is not None:
                    try:
                        process = process or self._start(node, slot, log)
                        process = self._attempt(batch, node, slot, process, log)
                    finally:
                        self._done()
            except JobFailure as failure:
                self._abort_with(str(failure))
            except Exception as error:  # an emulator bug: fail the node, loudly
                self._abort_with(f"The emulator's parallel coordinator failed: {error!r}")
            finally:
                if process is not None:
                    process.stop()

    def _should_die(self, batch: MiniBatch) -> bool:
        with self._condition:
            if self.kill and self.kill.mini_batch == batch.index and self.kill.times > 0:
                self.kill.times -= 1
                return True
        return False

    def _attempt(self, batch: MiniBatch, node: int, slot: int, process: _Process, log: IO[bytes]) -> _Process | None:
        """Sends `batch` to `process`; returns the process to use next (None when it had to go)."""
        process.ask({"index": batch.index, "kind": batch.kind, "items": batch.items, "die": self._should_die(batch)})
        answer = process.answer(self.settings.timeout)
        pid = process.process.pid
        if answer is not None and "rows" in answer:
            self._completed(batch, answer["rows"], Attempt(batch.index, node, slot, pid, "completed"))
            return process
        if answer is not None and "error" in answer:
            log.write(f"run() failed on mini-batch {batch.index}:\n{answer['error']}\n".encode())
            self._failed(batch, Attempt(batch.index, node, slot, pid, "failed"))
            return process
        outcome = "died" if answer is GONE else "timed out"
        log.write(f"mini-batch {batch.index}: the process {outcome}\n".encode())
        process.kill()
        self._failed(batch, Attempt(batch.index, node, slot, pid, outcome))
        return None

    def _completed(self, batch: MiniBatch, rows: list[str], attempt: Attempt) -> None:
        if self.settings.append_row_to is not None and rows:
            with self._rows_lock, (self.settings.append_row_to / APPEND_ROW_FILE).open("a", encoding="utf-8") as out:
                out.write("".join(row + "\n" for row in rows))
        with self._condition:
            self.report.attempts.append(attempt)
            self.report.failed_items += max(0, len(batch.items) - len(rows))
            self._check_thresholds()

    def _failed(self, batch: MiniBatch, attempt: Attempt) -> None:
        with self._condition:
            self.report.attempts.append(attempt)
            self._tries[batch.index] += 1
            if self._tries[batch.index] <= self.settings.max_retries:
                self._pending.append(batch)
                self._condition.notify_all()
                return
            self.report.failed_mini_batches += 1
            self.report.failed_items += len(batch.items)
            self._check_thresholds()

    def _check_thresholds(self) -> None:
        """Called with the condition held."""
        s, r = self.settings, self.report
        if s.mini_batch_error_threshold >= 0 and r.failed_mini_batches > s.mini_batch_error_threshold:
            self._abort = self._abort or (
                f"{r.failed_mini_batches} mini-batches failed, more than the "
                f"mini_batch_error_threshold of {s.mini_batch_error_threshold}."
            )
        if s.error_threshold >= 0 and r.failed_items > s.error_threshold:
            self._abort = self._abort or (
                f"{r.failed_items} items failed, more than the error_threshold of {s.error_threshold}."
            )
        if self._abort:
            self._condition.notify_all()

    def _write_summary(self) -> None:
        r = self.report
        completed = len({a.mini_batch for a in r.attempts if a.outcome == "completed"})
        summary = (
            f"{completed} of {r.mini_batches} mini-batches completed; {r.failed_mini_batches} failed; "
            f"{r.failed_items} items failed; {len(r.attempts)} attempts.\n"
        )
        if self._abort:
            summary += f"The job failed: {self._abort}\n"
        (self.log_dir / "job_result.txt").write_text(summary)


def environment(base: dict[str, str], settings: ParallelSettings) -> dict[str, str]:
    """What every worker of the node sees, on top of the job's environment."""
    return {
        **base,
        "AZUREML_NODE_COUNT": str(settings.instance_count),
        "AZUREML_EMULATOR_ENTRY_SCRIPT": str(settings.entry_script),
        "AZUREML_EMULATOR_PROGRAM_ARGUMENTS": json.dumps(settings.program_arguments),
        "PYTHONUNBUFFERED": "1",
        "PATH": os.environ.get("PATH", ""),
    }
