"""Flow snapshots: many processes materializing the same flow at once into a fresh folder all succeed."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from llmops.backends.content_hash import flow_hash
from llmops.backends.local.engine.snapshot import materialize

PROCESSES = 6
ROUNDS = 4


def _materialize_after(barrier: object, folder: Path, snapshots: Path) -> tuple[str, str]:
    barrier.wait()  # type: ignore[attr-defined]
    digest, target = materialize(folder, snapshots)
    return digest, str(target)


def contents(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and p.name != ".complete"}


@pytest.mark.timeout(120)
def test_processes_materializing_one_flow_at_once_all_get_the_whole_snapshot(tmp_path: Path) -> None:
    folder = tmp_path / "flow"
    for i in range(40):  # enough files that copying them takes a while: the window two stagings overlap in
        (folder / f"part_{i // 10}").mkdir(parents=True, exist_ok=True)
        (folder / f"part_{i // 10}" / f"node_{i}.py").write_text(f"VALUE = {i}\n" * 200)
    (folder / "flow.dag.yaml").write_text("nodes: []\n")
    # Not fork: a fork of the test process copies whatever lock another thread (a log handler, a leftover
    # server of an earlier test) holds, and a child waiting on it hung the suite.
    context = multiprocessing.get_context("forkserver")
    with context.Manager() as manager, context.Pool(PROCESSES) as pool:
        for round_ in range(ROUNDS):
            snapshots = tmp_path / f"snapshots_{round_}"
            barrier = manager.Barrier(PROCESSES)
            results = pool.starmap(_materialize_after, [(barrier, folder, snapshots)] * PROCESSES)
            assert {digest for digest, _ in results} == {flow_hash(folder)}
            target = Path(results[0][1])
            assert contents(target) == contents(folder)  # every file, none half written
            assert sorted(p.name for p in snapshots.iterdir()) == [target.name]  # no staging folder left behind


def test_a_half_copied_snapshot_left_by_an_interrupted_command_is_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "flow"
    folder.mkdir()
    (folder / "flow.dag.yaml").write_text("nodes: []\n")
    (folder / "node.py").write_text("VALUE = 1\n")
    left = tmp_path / "snapshots" / flow_hash(folder)[:16]
    left.mkdir(parents=True)
    (left / "flow.dag.yaml").write_text("nod")  # no .complete marker: the copy never finished
    _, target = materialize(folder, tmp_path / "snapshots")
    assert target == left and contents(target) == contents(folder)
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
