"""JSON Lines files, read the same way by every step: a line ends at "\\n" and nowhere else.

`str.splitlines()` also splits at U+2028, U+2029, U+0085, \\v, \\f and \\x1c-\\x1e, which JSON
allows raw inside a string (text pasted from a web page has them, and `json.dumps(...,
ensure_ascii=False)` writes them), so such a line fell apart into halves that are not JSON.
Reading bytes and splitting at b"\\n" also lets a line that is not UTF-8 be named by its number.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from llmops.config.problems import Problem, display_path
from llmops.errors import ConfigError

_BOM = b"\xef\xbb\xbf"  # some editors on Windows start a UTF-8 file with it; json.loads refuses it


def numbered_lines(path: Path, shown: str, problems: list[Problem]) -> Iterator[tuple[int, str]]:
    """(line number, text) of each non-blank line; a line that is not UTF-8 is a problem, and skipped."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM):]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problems.append(Problem(shown, f"line {number}", f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at "
                                        f"column {exc.start + 1}); save the file with UTF-8 encoding"))
                continue
            if text.strip():
                yield number, text.rstrip("\r\n")


def numbered_objects(path: Path, shown: str, problems: list[Problem]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number in the file, object) of each line; each line that is not a JSON object becomes a problem naming
    the file and line."""
    for number, text in numbered_lines(path, shown, problems):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(Problem(shown, f"line {number}", f"invalid JSON: {exc.msg} at column {exc.colno}"))
            continue
        if not isinstance(value, dict):
            problems.append(Problem(shown, f"line {number}", "expected a JSON object per line"))
            continue
        yield number, value


def scan_objects(path: Path, shown: str, problems: list[Problem]) -> list[dict[str, Any]]:
    """Every line as a JSON object; each line that is not one becomes a problem naming the file and line."""
    return [value for _, value in numbered_objects(path, shown, problems)]


def read_objects(path: Path, root: Path | None = None) -> list[dict[str, Any]]:
    """The rows of a JSONL file; raises ConfigError listing every bad line (file, line number, problem)."""
    problems: list[Problem] = []
    rows = scan_objects(path, display_path(path, root), problems)
    if problems:
        raise ConfigError(problems)
    return rows
