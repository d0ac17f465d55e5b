"""Model versions: a flow snapshot, new only when the flow's hash changed; lineage; concurrent registration."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from llmops.backends.local.registry import models as model_registry
from llmops.errors import NotFoundError
from tests.support.cli import llmops
from tests.support.mini_use_case import write_use_case

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def flow(tmp_path: Path) -> Path:
    folder = tmp_path / "flow"
    (folder / "sub").mkdir(parents=True)
    (folder / "flow.dag.yaml").write_text("nodes: []\n")
    (folder / "sub" / "tool.py").write_text("x = 1\n")
    return folder


def test_same_flow_is_one_version(tmp_path: Path, flow: Path) -> None:
    first = model_registry.register(tmp_path / "state", "uc_dev", flow, {"use_case": "uc"})
    again = model_registry.register(tmp_path / "state", "uc_dev", flow, {"use_case": "uc"})
    assert (first.version, first.changed, again.version, again.changed) == (1, True, 1, False)
    assert sorted(p.relative_to(first.snapshot).as_posix() for p in first.snapshot.rglob("*") if p.is_file()) == [
        "flow.dag.yaml", "sub/tool.py"]
    assert first.snapshot == tmp_path / "state/models/uc_dev/1"


def test_a_moved_state_directory_still_finds_its_snapshots(tmp_path: Path, flow: Path) -> None:
    model_registry.register(tmp_path / "state", "uc_dev", flow, {})
    (tmp_path / "state").rename(tmp_path / "carried")  # e.g. CI's state handed to CD on another runner path

    moved = model_registry.get(tmp_path / "carried", "uc_dev")
    assert moved.snapshot == tmp_path / "carried/models/uc_dev/1"
    assert (moved.snapshot / "sub/tool.py").read_text() == "x = 1\n"


@pytest.mark.parametrize("runtime", [".promptflow/flow.log", "__pycache__/tool.cpython-311.pyc", "sub/tool.pyc"])
def test_runtime_files_do_not_make_a_version(tmp_path: Path, flow: Path, runtime: str) -> None:
    first = model_registry.register(tmp_path / "state", "uc_dev", flow, {})
    (flow / runtime).parent.mkdir(parents=True, exist_ok=True)
    (flow / runtime).write_text("noise")
    again = model_registry.register(tmp_path / "state", "uc_dev", flow, {})
    assert (again.version, again.changed, again.sha256) == (1, False, first.sha256)
    assert not (again.snapshot / runtime).exists()


@pytest.mark.parametrize("change", ["edit", "rename", "add"])
def test_changed_flow_is_a_new_version(tmp_path: Path, flow: Path, change: str) -> None:
    model_registry.register(tmp_path / "state", "uc_dev", flow, {})
    if change == "edit":
        (flow / "sub/tool.py").write_text("x = 2\n")
    elif change == "rename":
        (flow / "sub/tool.py").rename(flow / "sub/tool2.py")
    else:
        (flow / "prompt.jinja2").write_text("hi")
    second = model_registry.register(tmp_path / "state", "uc_dev", flow, {"note": change})
    assert (second.version, second.changed, second.lineage) == (2, True, {"note": change})
    assert model_registry.get(tmp_path / "state", "uc_dev").version == 2
    assert model_registry.get(tmp_path / "state", "uc_dev", 1).version == 1


def test_reverted_flow_reuses_its_version(tmp_path: Path, flow: Path) -> None:
    model_registry.register(tmp_path / "state", "uc_dev", flow, {})
    (flow / "sub/tool.py").write_text("x = 2\n")
    model_registry.register(tmp_path / "state", "uc_dev", flow, {})
    (flow / "sub/tool.py").write_text("x = 1\n")
    assert model_registry.register(tmp_path / "state", "uc_dev", flow, {}).version == 1


def test_lookup_errors_name_what_exists(tmp_path: Path, flow: Path) -> None:
    model_registry.register(tmp_path / "state", "uc_dev", flow, {"use_case": "uc"})
    with pytest.raises(NotFoundError) as caught:
        model_registry.get(tmp_path / "state", "uc_dev", 7)
    assert str(caught.value) == "model 'uc_dev' has no version 7; versions: 1"
    with pytest.raises(NotFoundError) as caught:
        model_registry.get(tmp_path / "state", "other_dev")
    assert str(caught.value) == ("unknown model 'other_dev'; valid: uc_dev. Register it with: llmops register-model "
                                 "--use-case <name> --env <env> (a model is named <use_case>_<env>)")


def test_list_by_use_case(tmp_path: Path, flow: Path) -> None:
    model_registry.register(tmp_path / "state", "uc_dev", flow, {"use_case": "uc"})
    model_registry.register(tmp_path / "state", "uc_v2_dev", flow, {"use_case": "uc_v2"})
    assert [v.name for v in model_registry.list_versions(tmp_path / "state")] == ["uc_dev", "uc_v2_dev"]
    assert [v.name for v in model_registry.list_versions(tmp_path / "state", "uc")] == ["uc_dev"]


@pytest.mark.timeout(300)
def test_register_model_links_lineage_and_concurrent_commands_agree(tmp_path: Path) -> None:
    write_use_case(tmp_path)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q",
                    "--allow-empty", "-m", "start"], check=True)
    assert llmops(tmp_path, "run", "-u", "mini", "-e", "dev").code == 0
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # Four register-model commands at once on the same state, in four processes: one version, the others find it.
    procs = [subprocess.Popen([sys.executable, "-m", "llmops", "--root", str(tmp_path), "register-model", "-u",
                               "mini", "-e", "dev", "--json"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert sorted(r["changed"] for r in results) == [False, False, False, True]
    assert {r["version"] for r in results} == {1}
    lineage = results[0]["lineage"]
    assert lineage["data"] == [{"name": "mini_dev", "version": 1}]
    assert len(lineage["experiment_runs"]) == 2 and len(lineage["evaluation_runs"]) == 2
    assert lineage["variant"] == {"classify": "variant_0"} and lineage["variant_label"] == "defaults"
    assert lineage["variant_source"].startswith("best variant of report ")
    assert lineage["metrics"] == {"eval/accuracy": 0.75}
    assert lineage["git"]["commit"] and lineage["git"]["dirty"] is True  # the flow is not committed
    with sqlite3.connect(tmp_path / ".llmops/registry.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM models").fetchone()[0] == 1
    listed = llmops(tmp_path, "models", "list", "--use-case", "mini")
    assert listed.code == 0 and listed.out.startswith("mini_dev v1  sha256 ")
    assert f"git {lineage['git']['commit'][:8]}+uncommitted  variant defaults" in listed.out
