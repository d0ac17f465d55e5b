"""The entries of a `.env` file as python-dotenv reads them, each with the line it starts on.

python-dotenv's own reader gives values only, and skips a line it cannot read with a warning; errors
about connections must name the line, and a skipped connection line must not go unnoticed.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from llmops.errors import LlmopsError

_KEY = re.compile(r"\s*(?:export\s+)?'?([^=#'\s]+)'?\s*=")


@dataclass(frozen=True)
class EnvEntry:
    key: str
    value: str  # as python-dotenv gives it: unquoted, unescaped, variables expanded
    line: int
    text: str  # the line(s) as written


@dataclass(frozen=True)
class UnreadableLine:
    key: str  # the name before '=', "" when there is none
    line: int
    text: str


def read_env_file(path: Path) -> tuple[list[EnvEntry], list[UnreadableLine]]:
    from dotenv import dotenv_values
    from dotenv.parser import parse_stream

    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise LlmopsError(f"{path.name} line {line}: not UTF-8 text (byte 0x{data[error.start]:02x}); "
                          "save the file as UTF-8") from None
    bindings = list(parse_stream(io.StringIO(text)))
    unreadable = [UnreadableLine(_key_of(b.original.string), b.original.line, b.original.string.rstrip("\r\n"))
                  for b in bindings if b.error]
    # dotenv_values gives the values (its unquoting and ${VAR} expansion); fed only the readable
    # statements, it has no line to warn about: the caller decides what an unreadable line means.
    values = dotenv_values(stream=io.StringIO("".join(b.original.string for b in bindings if not b.error)))
    entries: dict[str, EnvEntry] = {}
    for binding in bindings:
        if binding.key is not None and not binding.error:
            entries[binding.key] = EnvEntry(binding.key, values.get(binding.key) or "", binding.original.line,
                                            binding.original.string.rstrip("\r\n"))
    return list(entries.values()), unreadable


def _key_of(statement: str) -> str:
    match = _KEY.match(statement)
    return match[1] if match else ""
