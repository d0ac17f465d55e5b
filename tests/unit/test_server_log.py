"""server.log is rotated by size, and the process's stderr follows it to the current file (run in a child
process: the handler takes over file descriptor 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHILD = """\
import logging, os, sys
from pathlib import Path
from llmops.serving.server_log import log_to

log_to(Path(sys.argv[1]), max_bytes=2000, backups=2)
for i in range(100):
    logging.getLogger("t").info("record %03d %s", i, "x" * 40)
os.write(2, b"stray output after the last rotation\\n")
"""


def test_server_log_rotates_and_stderr_follows_it(tmp_path: Path) -> None:
    path = tmp_path / "server.log"
    subprocess.run([sys.executable, "-c", CHILD, str(path)], check=True, cwd=REPO, timeout=60)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["server.log", "server.log.1", "server.log.2"]
    assert all(path.with_name(f"server.log.{n}").stat().st_size <= 2000 for n in (1, 2))
    current = path.read_text()
    assert "record 099" in current and current.endswith("stray output after the last rotation\n")
