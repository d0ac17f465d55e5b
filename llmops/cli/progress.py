"""Progress bars on stderr, one per run."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def progress_bars() -> Callable[[str, int, int], Callable[[Any], None]]:
    from tqdm import tqdm

    # The terminal's stderr, taken now: while lines run, prompt flow swaps sys.stderr for its own log
    # capture, and a bar created then would draw into that instead of the terminal.
    terminal = sys.stderr

    def start(name: str, total: int, done: int) -> Callable[[Any], None]:
        desc = name if len(name) <= 60 else "…" + name[-59:]  # the end tells runs apart
        bar = tqdm(total=total, initial=done, desc=desc, unit="line", file=terminal, leave=True,
                   disable=None, dynamic_ncols=True)
        failed = 0

        def tick(outcome: Any) -> None:
            nonlocal failed
            failed += 1 if outcome.error else 0
            bar.set_postfix(failed=failed, refresh=False)
            bar.update(1)
            if bar.n >= bar.total:
                bar.close()

        return tick

    return start
