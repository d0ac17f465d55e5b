"""configs/schemas/ is generated from the models; regenerate with `make schemas` when this fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops.config.schemas import SCHEMAS, render

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "configs" / "schemas"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_is_current(name: str) -> None:
    path = SCHEMA_DIR / name
    assert path.is_file(), f"{path} is missing; run `make schemas`"
    assert path.read_text(encoding="utf-8") == render(SCHEMAS[name]), f"{path} is stale; run `make schemas`"


def test_use_case_files_reference_their_schema() -> None:
    folder = SCHEMA_DIR.parents[1] / "use_cases" / "web_classification"
    for rel in ("llmops_config.json", "configs/mapping_config.json", "configs/data_config.json",
                "configs/deployment_config.json"):
        ref = json.loads((folder / rel).read_text())["$schema"]
        assert (folder / rel).parent.joinpath(ref).resolve().is_file(), ref
