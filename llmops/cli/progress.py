"""Progress bars on stderr, one per run."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def progress_bars() -> Callable[[str, int, int], Callable[[Any], None]]:
    from tqdm import tqdm

    def start(name: str, total: int, done: int) -> Callable[[Any], None]:
        bar = tqdm(total=total, initial=done, desc=name[:60], unit="line", file=sys.stderr, leave=True,
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
