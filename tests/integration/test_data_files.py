"""Data files as users write them: characters that end lines in Python but not in JSON, bytes that are not
UTF-8, and paths that lead out of the repository. Every step reads JSONL through one reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops.config.jsonl import read_objects
from llmops.errors import ConfigError
from tests.support.cli import llmops
from tests.support.mini_use_case import ROWS, edit_json, write_use_case

pytestmark = pytest.mark.timeout(300)

# Characters that str.splitlines() treats as line ends and JSON allows raw inside a string.
LINE_END_LOOKALIKES = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]


@pytest.mark.parametrize("char", LINE_END_LOOKALIKES, ids=[f"U+{ord(c):04X}" for c in LINE_END_LOOKALIKES])
def test_a_line_ends_only_at_newline(tmp_path: Path, char: str) -> None:
    path = tmp_path / "data.jsonl"
    rows = [{"url": f"https://example.com/{i}", "note": f"before{char}after"} for i in range(3)]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert read_objects(path) == rows


@pytest.mark.parametrize("content, expected", [
    (b'{"a": 1}\r\n{"a": 2}\r\n', [{"a": 1}, {"a": 2}]),  # Windows line ends
    (b'\xef\xbb\xbf{"a": 1}\n{"a": 2}', [{"a": 1}, {"a": 2}]),  # a UTF-8 byte order mark, no final newline
    (b'\n{"a": 1}\n\n   \n{"a": 2}\n', [{"a": 1}, {"a": 2}]),  # blank lines
])
def test_line_endings_and_marks(tmp_path: Path, content: bytes, expected: list[dict[str, int]]) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(content)
    assert read_objects(path) == expected


@pytest.mark.parametrize("content, problems", [
    (b'{"a": 1}\n{"a": "caf\xe9"}\n{"a": 3}\n',
     ["data.jsonl: line 2: not valid UTF-8 (byte 0xe9 at column 11); save the file with UTF-8 encoding"]),
    (b'{"a": 1}\n{"a": \n[1, 2]\n',
     ["data.jsonl: line 2: invalid JSON: Expecting value at column 7",
      "data.jsonl: line 3: expected a JSON object per line"]),
])
def test_bad_lines_are_named_all_at_once(tmp_path: Path, content: bytes, problems: list[str]) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        read_objects(path, tmp_path)
    assert [str(p) for p in caught.value.problems] == problems


def test_a_run_reads_the_line_separator_inside_a_string(tmp_path: Path) -> None:
    """validate, register-data and run agree on the line count of a file with U+2028 in a string."""
    folder = write_use_case(tmp_path)
    rows = [{**row, "answer": row["answer"], "note": "pasted\u2028text"} for row in ROWS]
    (folder / "data/pr.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                          encoding="utf-8")
    assert llmops(tmp_path, "validate").code == 0
    registered = llmops(tmp_path, "register-data", "-u", "mini", "-e", "pr")
    assert registered.code == 0, registered.err
    assert f"{len(ROWS)} rows" in registered.out or f"{len(ROWS)} lines" in registered.out, registered.out
    done = llmops(tmp_path, "experiment", "-u", "mini", "-e", "pr", "--variants", "defaults")
    assert done.code == 0, done.err
    assert "unexpected" not in done.err


def test_invalid_utf8_is_named_by_every_command(tmp_path: Path) -> None:
    folder = write_use_case(tmp_path)
    (folder / "data/pr.jsonl").write_bytes(b'{"url": "https://example.com/a", "answer": "App"}\n'
                                           b'{"url": "https://example.com/\xff", "answer": "None"}\n')
    expected = "use_cases/mini/data/pr.jsonl: line 2: not valid UTF-8 (byte 0xff at column 30)"
    for command in (["validate"], ["register-data", "-u", "mini", "-e", "pr"]):
        done = llmops(tmp_path, *command)
        assert done.code == 1, (command, done.out, done.err)
        assert expected in done.out + done.err, (command, done.out, done.err)
        assert "unexpected" not in done.err and "Traceback" not in done.err


def test_validate_warns_of_paths_outside_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    folder = write_use_case(repo)
    outside = tmp_path / "elsewhere.jsonl"
    outside.write_text((folder / "data/pr.jsonl").read_text(encoding="utf-8"), encoding="utf-8")

    def point_outside(data: dict) -> None:
        data["datasets"][0]["DATA_PATH"] = "../../../elsewhere.jsonl"
        data["datasets"][1]["DATA_PATH"] = str(outside)  # absolute

    edit_json(folder / "configs/data_config.json", point_outside)
    done = llmops(repo, "validate")
    assert done.code == 0, done.out  # a warning, not an error: the file exists on this machine
    warnings = [line for line in done.out.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: use_cases/mini/configs/data_config.json: datasets[{i}].DATA_PATH: '{written}' leads outside the "
        f"repository (to {outside}); a clean checkout such as CI's will not have it: move it under "
        "use_cases/mini/ and give the path from there"
        for i, written in ((0, "../../../elsewhere.jsonl"), (1, str(outside)))
    ]
    as_json = json.loads(llmops(repo, "validate", "--json").out)
    assert len(as_json["mini"]["warnings"]) == 2 and as_json["mini"]["problems"] == []


def test_every_jsonl_reader_keeps_a_line_separator_inside_a_string(tmp_path: Path) -> None:
    """The production log and cassettes are JSONL too, and read through the same line splitter."""
    from llmops.llm.gateway.cassettes import CassetteStore
    from llmops.serving.production_log import read_entries

    entry = {"status": 200, "inputs": {"text": "a\u2028b"}, "outputs": {"answer": "c\u2029d"}}
    log = tmp_path / "production_log.jsonl"
    log.write_text(json.dumps(entry, ensure_ascii=False) + "\n", encoding="utf-8")
    assert list(read_entries(log)) == [entry]

    cassette = {"hash": "abc", "response": {"text": "e\u2028f"}}
    (tmp_path / "cassettes").mkdir()
    (tmp_path / "cassettes/flow.jsonl").write_text(json.dumps(cassette, ensure_ascii=False) + "\n", encoding="utf-8")
    assert CassetteStore(tmp_path / "cassettes")._load("flow.jsonl") == {"abc": cassette}
