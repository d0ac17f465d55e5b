from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops.errors import ConfigError
from llmops.llm.gateway.cassettes import CassetteEntry, CassetteStore, cassette_file_name


def entry(digest: str, flow: str = "web_classification", answer: str = "A") -> CassetteEntry:
    return CassetteEntry(
        hash=digest,
        flow=flow,
        node="classify",
        endpoint="chat",
        model="gpt-35-turbo",
        request={"messages": [{"role": "user", "content": digest}], "temperature": 0},
        response={"choices": [{"message": {"content": answer}}]},
    )


def test_lines_are_sorted_by_hash_with_sorted_keys(tmp_path: Path) -> None:
    store = CassetteStore(tmp_path)
    for digest in ("c3", "a1", "b2"):
        store.add(entry(digest))
    assert store.flush() == [tmp_path / "web_classification.jsonl"]
    lines = (tmp_path / "web_classification.jsonl").read_text().splitlines()
    assert [json.loads(line)["hash"] for line in lines] == ["a1", "b2", "c3"]
    assert lines[0] == (
        '{"endpoint": "chat", "flow": "web_classification", "hash": "a1", "model": "gpt-35-turbo", "node": '
        '"classify", "request": {"messages": [{"content": "a1", "role": "user"}], "temperature": 0}, '
        '"response": {"choices": [{"message": {"content": "A"}}]}}'
    )


def test_re_recording_changes_only_the_lines_that_changed(tmp_path: Path) -> None:
    first = CassetteStore(tmp_path)
    for digest in ("a1", "b2", "c3"):
        first.add(entry(digest))
    first.flush()
    before = (tmp_path / "web_classification.jsonl").read_text().splitlines()
    second = CassetteStore(tmp_path)
    second.add(entry("b2", answer="B"))
    second.add(entry("a1"))  # unchanged: the file is not even marked dirty by it
    second.flush()
    after = (tmp_path / "web_classification.jsonl").read_text().splitlines()
    assert [i for i, (old, new) in enumerate(zip(before, after, strict=True)) if old != new] == [1]


def test_find_looks_in_the_flow_file_or_everywhere_when_untagged(tmp_path: Path) -> None:
    recorder = CassetteStore(tmp_path)
    recorder.add(entry("a1", flow="standard"))
    recorder.add(entry("e9", flow="evaluation", answer="E"))
    recorder.flush()
    store = CassetteStore(tmp_path)
    assert store.find("standard", "a1") == {"choices": [{"message": {"content": "A"}}]}
    assert store.find("standard", "e9") is None
    assert store.find("", "e9") == {"choices": [{"message": {"content": "E"}}]}


@pytest.mark.parametrize(
    ("flow", "name"),
    [
        ("web_classification", "web_classification.jsonl"),
        ("flows/eval ok", "flows_eval_ok.jsonl"),
        ("", "_untagged.jsonl"),
    ],
)
def test_file_names_are_safe(flow: str, name: str) -> None:
    assert cassette_file_name(flow) == name


def test_a_broken_cassette_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "web.jsonl"
    path.write_text(json.dumps({"hash": "a"}) + "\n{not json\n")
    with pytest.raises(ConfigError) as raised:
        CassetteStore(tmp_path).find("web", "a")
    assert [str(p) for p in raised.value.problems] == [
        f"{path}: line 2: not a cassette entry (Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)); fix the line or delete the file and record again"
    ]
