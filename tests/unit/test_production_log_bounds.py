"""What one production-log entry keeps: bounded inputs and outputs (said in the entry), text that is not valid
Unicode written safely, and rotation that counts requests rather than the bytes of one of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmops.serving.production_log import ProductionLog, flatten, make_entry, read_entries

BIG = "x" * 1_000_000


def entry(inputs: Any, outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    return make_entry("e", "blue", False, 1.0, 200, inputs, outputs or {"category": "App"})


def size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False))


def is_prefix(cut: Any, original: Any) -> bool:
    text = original if isinstance(original, str) else json.dumps(original, ensure_ascii=False)
    return isinstance(cut, str) and len(cut) < len(text) and text.startswith(cut)


@pytest.mark.parametrize(("inputs", "whole", "cut"), [
    ({"url": "u"}, ["url"], []),
    # The small value stays whole; the large one keeps a prefix.
    ({"text": BIG, "url": "u"}, ["url"], ["text"]),
    # A large value that is not a string keeps the prefix of its JSON.
    ({"tags": ["a"] * 300_000, "n": 1}, ["n"], ["tags"]),
    # Many values share the room; past 100 keys the rest are left out.
    ({f"k{i:04d}": "v" * 400 for i in range(1000)}, [], [f"k{i:04d}" for i in range(100)]),
])
def test_an_entry_keeps_bounded_inputs_and_says_so(inputs: dict[str, Any], whole: list[str], cut: list[str]) -> None:
    made = entry(inputs)
    kept = made["inputs"]
    assert list(kept) == [key for key in inputs if key in whole or key in cut]  # in the order sent
    assert all(kept[key] == inputs[key] for key in whole)
    assert all(is_prefix(kept[key], inputs[key]) for key in cut)
    assert made.get("truncated") == ({"inputs": size(inputs)} if cut else None)
    assert size(kept) <= 32 * 1024 + 500


def test_a_body_that_is_not_an_object_keeps_the_prefix_of_its_json() -> None:
    made = entry([BIG])
    assert is_prefix(made["inputs"], [BIG]) and size(made["inputs"]) <= 32 * 1024 + 2
    assert made["truncated"] == {"inputs": size([BIG])}


def test_outputs_are_bounded_too() -> None:
    made = entry({"url": "u"}, {"answer": BIG})
    assert made["truncated"] == {"outputs": size({"answer": BIG})}
    assert is_prefix(made["outputs"]["answer"], BIG) and made["inputs"] == {"url": "u"}


def test_a_few_huge_requests_do_not_rotate_earlier_entries_out(tmp_path: Path) -> None:
    log = ProductionLog(tmp_path / "production_log.jsonl", max_bytes=100_000, backups=2)
    log.append(entry({"url": "https://apps.example.com/marker"}))
    for _ in range(4):  # four 1 MB requests used to push the marker out of every file
        log.append(entry({"text": BIG}))
    log.close()
    urls = [e["inputs"].get("url") for e in read_entries(tmp_path / "production_log.jsonl")]
    assert urls[0] == "https://apps.example.com/marker" and len(urls) == 5


def test_text_that_is_not_valid_unicode_is_logged_with_replacement_characters(tmp_path: Path) -> None:
    log = ProductionLog(tmp_path / "production_log.jsonl")
    log.append(entry({"url": "a\ud800b"}, {"category": "\udfff"}))
    log.append(entry({"url": "after"}))
    log.close()
    assert [(e["inputs"]["url"], e["outputs"]["category"]) for e in read_entries(tmp_path / "production_log.jsonl")] \
        == [("a\ufffdb", "\ufffd"), ("after", "App")]


def test_post_prod_rows_leave_out_truncated_entries(caplog: pytest.LogCaptureFixture) -> None:
    rows = flatten([entry({"url": "kept"}), entry({"url": "cut", "text": BIG})])
    assert [row["url"] for row in rows] == ["kept"]
    assert "1 answered request left out: its inputs or outputs were truncated in the production log" in caplog.text
