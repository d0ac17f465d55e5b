"""Two (or eight) CLI commands at once on the same state never corrupt the endpoint registry."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from llmops.backends.endpoints import Deployment
from llmops.backends.local.registry import endpoints as endpoint_registry
from llmops.backends.traffic import Split
from tests.support.mini_use_case import write_use_case

pytestmark = pytest.mark.timeout(300)
REPO = Path(__file__).resolve().parents[2]


def test_concurrent_traffic_commands_keep_a_consistent_history(tmp_path: Path) -> None:
    write_use_case(tmp_path)
    state = tmp_path / ".llmops"
    endpoint_registry.ensure_endpoint(state, "mini", "mini", "dev", "replay")
    for name in ("blue", "green"):
        endpoint_registry.put_deployment(state, Deployment("mini", name, "mini_dev", 1, "standard",
                                                           {"classify": "variant_0"}, "defaults"))
    for blue in (100, 90, 80):
        endpoint_registry.set_split(state, "mini", Split({"blue": blue, "green": 100 - blue}), "setup")
    version_before = endpoint_registry.get_endpoint(state, "mini").version
    # Processes: the registry's locking is between the processes of commands run at once.
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    base = [sys.executable, "-m", "llmops", "--root", str(tmp_path), "endpoint"]
    commands = [[*base, "traffic", "-u", "mini", "-e", "dev", "--set", f"blue={b},green={100 - b}"]
                for b in (70, 60, 50, 40, 30, 20)]
    commands += [[*base, "rollback", "-u", "mini", "-e", "dev"]] * 2
    procs = [subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in commands]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    assert all(code == 0 for code, _ in results), results
    history = endpoint_registry.history(state, "mini")
    assert [h.seq for h in history] == list(range(1, 10))  # 3 + 6 maps, no number taken twice
    assert sum(h.rolled_back for h in history) == 2
    assert endpoint_registry.get_endpoint(state, "mini").version == version_before + 8  # every change counted
    assert sum(endpoint_registry.get_endpoint(state, "mini").split.live.values()) == 100
    with sqlite3.connect(state / "registry.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
