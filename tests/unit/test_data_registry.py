"""Dataset versioning in the SQLite registry: a new version only when the bytes change."""

from __future__ import annotations

from pathlib import Path

from llmops.backends.local.registry import data as data_registry


def test_versions_follow_content(tmp_path: Path) -> None:
    state, data = tmp_path / "state", tmp_path / "d.jsonl"
    data.write_text('{"a": 1}\n')
    first = data_registry.register(state, "ds", data, "desc", "d.jsonl")
    again = data_registry.register(state, "ds", data, "desc", "d.jsonl")
    data.write_text('{"a": 1}\n{"a": 2}\n')
    second = data_registry.register(state, "ds", data, "desc", "d.jsonl")
    assert (first.version, first.changed, first.rows, first.path) == (1, True, 1, "d.jsonl")
    assert (again.version, again.changed) == (1, False)
    assert (second.version, second.changed, second.rows) == (2, True, 2)
    assert data_registry.current_version(state, "ds", data).version == 2
    data.write_text('{"a": 1}\n')  # back to the first bytes: that version is reused, not re-registered
    assert data_registry.register(state, "ds", data, "desc", "d.jsonl").version == 1
    assert [v.version for v in data_registry.list_versions(state, "ds")] == [1, 2]


def test_unregistered_content_has_no_version(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"a": 1}\n')
    assert data_registry.current_version(tmp_path / "state", "ds", data) is None
