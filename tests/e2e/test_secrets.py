"""A key planted in .env reaches the upstream and nothing else: no log, run record, cache, report. Nor
does the gateway's session token, which the flows hold as their key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.loopback_upstream import LoopbackUpstream
from tests.support.repo_copy import REPO, copy_use_case

pytestmark = pytest.mark.timeout(300)

PLANTED = "planted-test-key-not-real-0123456789-XYZ"
SESSION_TOKEN = "known-session-token-0123456789-ABC"
# The real CLI, with the gateway's random token made known so the files can be searched for it.
WITH_KNOWN_TOKEN = ("import runpy, llmops.llm.gateway.gateway as g; assert g.new_token; "
                    f"g.new_token = lambda: {SESSION_TOKEN!r}; runpy.run_module('llmops', run_name='__main__')")


def test_planted_key_never_leaks(tmp_path: Path) -> None:
    copy_use_case(tmp_path)
    with LoopbackUpstream() as upstream:
        connection = {"api_key": PLANTED, "api_base": upstream.url, "api_type": "azure", "api_version": "2024-02-01"}
        (tmp_path / ".env").write_text(f"aoai={json.dumps(connection)}\n")
        # Processes: everything they print, prompt flow's own logs included, is searched for the secrets.
        env = {**os.environ, "PYTHONPATH": str(REPO), "LLMOPS_OFFLINE": "1"}
        cmd = [sys.executable, "-m", "llmops", "--root", str(tmp_path)]
        run = subprocess.run([sys.executable, "-c", WITH_KNOWN_TOKEN, "--root", str(tmp_path), "-v", "run",
                              "-u", "web_classification", "-e", "pr", "--provider", "azure_openai",
                              "--variants", "defaults"], env=env, capture_output=True, text=True, timeout=240)
        listed = subprocess.run([*cmd, "connections"], env=env, capture_output=True, text=True, timeout=60)
        received = list(upstream.requests)
    assert run.returncode in (0, 3), run.stderr[-3000:]  # the simulated answers may well fail the gate
    assert received and all(r.headers.get("api-key") == PLANTED for r in received)  # the key was really used
    assert "key ****-XYZ" in listed.stdout
    for secret in (PLANTED, SESSION_TOKEN):
        for text in (run.stdout, run.stderr, listed.stdout, listed.stderr):
            assert secret not in text
        files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != ".env"]
        assert [p for p in files if secret.encode() in p.read_bytes()] == []
    assert (tmp_path / "reports/web_classification/pr/latest/results.csv").is_file()
    assert any((tmp_path / ".llmops").rglob("*.sqlite"))  # the state that was grepped exists
