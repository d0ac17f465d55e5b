"""The node pool: the threads a run's synchronous nodes run on, shared by every line, never holding the process.

A node's thread cannot be stopped: a sync tool waiting on a socket or sleeping runs until it returns. When its
line is cancelled (a second Ctrl-C) or times out (PF_LINE_TIMEOUT_SEC), the thread goes on, and the threads of
`concurrent.futures.ThreadPoolExecutor` are joined when the interpreter exits: measured, one node sleeping 120 s
kept an interrupted `llmops experiment` alive for 123 s, and a timed-out line did the same after the run had
ended. Prompt flow's own scheduler meets this by ending the process with `os._exit(0)` once the cancelled tasks
are done, which also turns the exit code of an interrupted command into 0 and would end an endpoint server with
one cancelled request. These are daemon threads instead: the process exits when its main thread is done,
whatever a node is still doing.

Otherwise it behaves as ThreadPoolExecutor: up to `max_workers` threads, started only when no thread is idle
(a thread start costs milliseconds under load, which is why one pool serves every line).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any, TypeVar

from llmops.backends.local.engine.node_output import NODE_THREAD_PREFIX

T = TypeVar("T")


@dataclass
class _Work:
    future: Future[Any]
    call: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def run(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return  # cancelled while it waited
        try:
            result = self.call(*self.args, **self.kwargs)
        except BaseException as exc:  # as ThreadPoolExecutor: the caller gets it from the future
            self.future.set_exception(exc)
        else:
            self.future.set_result(result)


class NodePool(Executor):
    def __init__(self, max_workers: int, thread_name_prefix: str = NODE_THREAD_PREFIX) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._max_workers = max_workers
        self._prefix = thread_name_prefix
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)  # released by a thread each time it is done with a call
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            future: Future[T] = Future()
            self._queue.put(_Work(future, fn, args, kwargs))
            if not self._idle.acquire(blocking=False) and len(self._threads) < self._max_workers:
                thread = threading.Thread(target=self._serve, name=f"{self._prefix}_{len(self._threads)}",
                                          daemon=True)
                thread.start()
                self._threads.append(thread)
            return future

    def _serve(self) -> None:
        while True:
            work = self._queue.get()
            if work is None:
                self._queue.put(None)  # the next thread sees the end too
                return
            work.run()
            del work  # drop the call's arguments and result before waiting for the next
            self._idle.release()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            if cancel_futures:
                while True:
                    try:
                        work = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if work is not None:
                        work.future.cancel()
            self._queue.put(None)
        if wait:
            for thread in self._threads:
                thread.join()
