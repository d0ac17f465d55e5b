"""One command at a time per run: a second command that starts the same run waits for the first and
then reuses its lines, instead of calling the LLM for every line a second time."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from llmops.file_lock import exclusive_lock

logger = logging.getLogger(__name__)


def run_lock_path(state_dir: Path, run_id: str) -> Path:
    return state_dir / "locks" / f"run-{run_id}.lock"


@contextmanager
def holding_runs(state_dir: Path, names: dict[str, str]) -> Iterator[None]:
    """Hold the lock of every run in `names` (run id -> name), waiting for other commands that hold one.

    Locks are taken in run id order, so two commands sharing some runs never wait for each other in a
    circle. An OS lock: a command that dies (crash, SIGKILL) releases its runs, which the next one resumes.
    """
    with ExitStack() as held:
        for run_id in sorted(names):
            def say(path: Path, holder: str, name: str = names[run_id]) -> None:
                logger.info("run %s is running in another process%s; waiting for it", name,
                            f" (pid {holder})" if holder else "")

            held.enter_context(exclusive_lock(run_lock_path(state_dir, run_id), on_wait=say))
        yield
