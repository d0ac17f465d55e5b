"""The node pool: ThreadPoolExecutor's behaviour on daemon threads, so a node still running never holds the process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from llmops.backends.local.engine.node_pool import NodePool

REPO = Path(__file__).resolve().parents[2]


def test_calls_run_on_named_daemon_threads_started_only_when_none_is_idle() -> None:
    pool = NodePool(50)
    try:
        seen = [pool.submit(lambda: threading.current_thread()).result() for _ in range(20)]
    finally:
        pool.shutdown()
    # One call at a time: an idle thread takes the next (rarely a new one starts, when the call comes before the
    # thread that answered the last one is back in the queue), not a thread per call.
    assert len({t.name for t in seen}) < 10
    assert all(t.name.startswith("llmops-node_") and t.daemon for t in seen)


def test_at_most_max_workers_threads_run_at_once() -> None:
    release = threading.Event()
    pool = NodePool(3)
    try:
        futures = [pool.submit(lambda: (release.wait(10), threading.current_thread().name)[1]) for _ in range(6)]
        release.set()
        names = {f.result(timeout=10) for f in futures}
    finally:
        pool.shutdown()
    assert len(names) == 3


def test_a_call_that_raises_hands_its_error_to_the_caller() -> None:
    pool = NodePool(1)
    try:
        future = pool.submit(int, "not a number")
        with pytest.raises(ValueError, match="not a number"):
            future.result(timeout=10)
        assert pool.submit(int, "7").result(timeout=10) == 7  # the thread lives on
    finally:
        pool.shutdown()


def test_shutdown_cancels_calls_not_started_and_refuses_new_ones() -> None:
    release = threading.Event()
    pool = NodePool(1)
    running = pool.submit(release.wait, 10)
    waiting = pool.submit(lambda: "never")
    pool.shutdown(wait=False, cancel_futures=True)
    release.set()
    assert running.result(timeout=10) is True
    assert waiting.cancelled()
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(lambda: None)


def test_a_call_still_running_does_not_keep_the_process_alive() -> None:
    script = ("import time\nfrom llmops.backends.local.engine.node_pool import NodePool\n"
              "pool = NodePool(2)\npool.submit(time.sleep, 600)\npool.shutdown(wait=False)\nprint('done')\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # A ThreadPoolExecutor here would keep the process for 600 s: its threads are joined at exit.
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "done\n", done.stderr
