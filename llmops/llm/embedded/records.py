"""The record of a running embedded server: `<state_dir>/embedded/<name>.json`."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path

from llmops.llm.embedded.locations import server_record_file

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerRecord:
    name: str
    pid: int
    port: int
    address: str  # http://127.0.0.1:<port>, the server root (/health lives here)
    model_path: str
    sha256: str
    threads: int
    context_tokens: int
    started_at: str  # ISO 8601, UTC
    startup_seconds: float
    log_path: str
    # Whether the server reuses prompt prefixes across requests (see child.py). Records written before the
    # field existed are of servers that did, and such a server is replaced rather than reused.
    prompt_reuse: bool = True

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (what an OpenAI client or a prompt flow connection takes)."""
        return f"{self.address}/v1"


def read_record(state_dir: Path, name: str) -> ServerRecord | None:
    path = server_record_file(state_dir, name)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return ServerRecord(**{field.name: raw[field.name] for field in fields(ServerRecord)
                               if field.name in raw or field.default is MISSING})
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        # A record from an older version or a torn write: treat it as absent, the server is re-checked anyway.
        logger.warning("ignoring unreadable server record %s: %s", path, error)
        return None


def write_record(state_dir: Path, record: ServerRecord) -> Path:
    path = server_record_file(state_dir, record.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return path


def delete_record(state_dir: Path, name: str) -> None:
    server_record_file(state_dir, name).unlink(missing_ok=True)
