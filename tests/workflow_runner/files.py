"""The files a step writes to talk to the runner (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH, GITHUB_STEP_SUMMARY,
GITHUB_STATE) and the workflow commands it prints (`::add-mask::`, `::error::`...), parsed as GitHub does."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from llmops.errors import ConfigError

FILE_COMMANDS = {
    "GITHUB_OUTPUT": "set_output",
    "GITHUB_ENV": "set_env",
    "GITHUB_PATH": "add_path",
    "GITHUB_STEP_SUMMARY": "step_summary",
    "GITHUB_STATE": "save_state",
}
_COMMAND = re.compile(r"^::(?P<name>[a-z-]+)(?: (?P<props>[^:]*))?::(?P<value>.*)$")


def new_step_files(folder: Path) -> dict[str, Path]:
    """Fresh, empty files for one step, named as the runner names them (one set per step)."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for variable, prefix in FILE_COMMANDS.items():
        path = folder / f"{prefix}_{uuid.uuid4()}"
        path.write_text("", encoding="utf-8")
        files[variable] = path
    return files


def read_key_values(path: Path) -> dict[str, str]:
    """`name=value` lines and `name<<DELIMITER` ... `DELIMITER` blocks; later keys win, as on GitHub."""
    values: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").split("\n") if path.is_file() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        heredoc = line.find("<<")
        equals = line.find("=")
        if heredoc > 0 and (equals < 0 or heredoc < equals):
            name, delimiter = line[:heredoc], line[heredoc + 2:]
            body: list[str] = []
            while i < len(lines) and lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            if i >= len(lines):
                raise ConfigError([f"{path.name}: '{name}<<{delimiter}' is never closed by a line '{delimiter}'"])
            i += 1
            values[name] = "\n".join(body)
        elif equals > 0:
            values[line[:equals]] = line[equals + 1:]
        else:
            raise ConfigError([f"{path.name}: line '{line}' is neither 'name=value' nor 'name<<DELIMITER'"])
    return values


def read_paths(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class Commands:
    """What a step's log asked of the runner through `::command::` lines."""

    masks: list[str] = field(default_factory=list)
    annotations: list[str] = field(default_factory=list)


def scan_commands(log: str) -> Commands:
    found = Commands()
    stopped_by: str | None = None
    for raw in log.splitlines():
        match = _COMMAND.match(raw.strip())
        if not match:
            continue
        name, value = match.group("name"), match.group("value")
        if stopped_by is not None:
            if name == stopped_by:  # `::<token>::` resumes command processing
                stopped_by = None
            continue
        if name == "stop-commands":
            stopped_by = value
        elif name == "add-mask" and value:
            found.masks.append(value)
        elif name in ("error", "warning", "notice"):
            found.annotations.append(f"{name}: {value}")
    return found


def redact(text: str, secrets: list[str]) -> str:
    """Mask secrets in a log as GitHub does: the longest first, so a secret containing another stays whole."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def without_mask_commands(log: str) -> str:
    """GitHub consumes `::add-mask::` lines; they never appear in the visible log."""
    return "\n".join(line for line in log.split("\n") if not line.strip().startswith("::add-mask::"))
