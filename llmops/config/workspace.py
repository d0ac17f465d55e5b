"""Where things are: the repository root, its use cases, the state directory and the reports folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from llmops.errors import LlmopsError, unknown_name

USE_CASES = "use_cases"
USE_CASE_MARKER = "llmops_config.json"


@dataclass(frozen=True)
class Workspace:
    root: Path
    state_dir: Path
    reports_dir: Path

    @classmethod
    def find(cls, start: Path | None = None, state_dir: Path | None = None) -> Workspace:
        """The nearest folder holding `use_cases/`, from `start` (or $LLMOPS_ROOT, or the cwd) upward."""
        env_root = os.environ.get("LLMOPS_ROOT")
        origin = Path(start or env_root or Path.cwd()).resolve()
        for folder in (origin, *origin.parents):
            if (folder / USE_CASES).is_dir():
                state = state_dir or Path(os.environ.get("LLMOPS_STATE_DIR") or folder / ".llmops")
                return cls(root=folder, state_dir=Path(state).resolve(), reports_dir=folder / "reports")
        raise LlmopsError(
            f"no '{USE_CASES}/' folder found in '{origin}' or above; run llmops from the repository "
            "root, or set LLMOPS_ROOT to it"
        )

    def use_case_names(self) -> list[str]:
        base = self.root / USE_CASES
        return sorted(p.name for p in base.iterdir() if (p / USE_CASE_MARKER).is_file())

    def use_case_dir(self, name: str) -> Path:
        folder = self.root / USE_CASES / name
        if not (folder / USE_CASE_MARKER).is_file():
            raise unknown_name(
                "use case", name, self.use_case_names(),
                f"A use case is a folder under {USE_CASES}/ holding {USE_CASE_MARKER}",
            )
        return folder

    def shown(self, path: Path) -> str:
        """`path` relative to the repository root when it lies inside it: the same on every checkout."""
        resolved = path.resolve()
        return resolved.relative_to(self.root).as_posix() if resolved.is_relative_to(self.root) else str(resolved)
