"""Latency measurement shared by the benchmarks: many threads calling at once, and percentiles."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable


def run_threads(concurrency: int, calls: int, make_call: Callable[[int], Callable[[int], None]]) -> tuple[
        list[float], float]:
    """Latencies in ms of concurrency x calls calls, and the wall time in s; all threads start together.

    `make_call(worker)` runs in the worker's thread before the start (set-up is not timed) and returns
    the call to time, given the call's index.
    """
    latencies: list[float] = []
    lock = threading.Lock()
    start_together = threading.Barrier(concurrency + 1)

    def worker(number: int) -> None:
        call = make_call(number)
        mine = []
        start_together.wait()
        for index in range(calls):
            started = time.perf_counter()
            call(index)
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(concurrency)]
    for thread in threads:
        thread.start()
    start_together.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - began


def percentiles(values: list[float]) -> tuple[float, float]:
    """p50 and p99."""
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]
