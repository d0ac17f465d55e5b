"""A config problem is one line: `<file>: <key path>: <problem>`; loaders collect them all before failing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    file: str
    key_path: str
    message: str

    def __str__(self) -> str:
        if self.key_path:
            return f"{self.file}: {self.key_path}: {self.message}"
        return f"{self.file}: {self.message}"


def display_path(path: Path, root: Path | None = None) -> str:
    """Show a path relative to the repository root (or the working directory) so messages stay short."""
    path = Path(path)
    for base in (root, Path.cwd()):
        if base is None:
            continue
        try:
            return path.resolve().relative_to(Path(base).resolve()).as_posix()
        except ValueError:
            continue
    return path.as_posix()


def key_path(loc: tuple[str | int, ...]) -> str:
    """('datasets', 2, 'DATA_PATH') -> 'datasets[2].DATA_PATH'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
