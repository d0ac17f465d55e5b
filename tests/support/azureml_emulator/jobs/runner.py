from __future__ import annotations

from pathlib import Path
from typing import Any


class JobRunner:
    def __init__(self, context: Any, work_dir: Path) -> None:
        self.context = context
        self.work_dir = work_dir

    def cancel_all(self) -> None:
        pass

    def stop(self) -> None:
        pass
