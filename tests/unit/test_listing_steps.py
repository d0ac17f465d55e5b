"""The listing steps behind `llmops connections` and `llmops models list`: typed rows, keys masked, JSON-ready."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops.config.use_case import load_use_case
from llmops.config.workspace import Workspace
from llmops.errors import UsageError
from llmops.steps.connections import list_connections
from llmops.steps.models import list_models
from tests.support.mini_use_case import write_use_case

KEY = "sk-abcdefghijklmnop1234"


def test_connections_are_listed_with_the_key_masked(tmp_path: Path) -> None:
    write_use_case(tmp_path)
    (tmp_path / ".env").write_text(f'aoai={{"api_key": "{KEY}", "api_base": "https://x.openai.azure.com", '
                                   '"api_type": "azure", "api_version": "2024-02-01"}\n')
    ws = Workspace.find(tmp_path)
    result = list_connections(ws, {}, load_use_case(ws, "mini"), publish=False)
    assert [(r.name, r.type, r.provider, r.used_by) for r in result.rows] == [("aoai", "azure", "-", [])]
    assert result.store is None and KEY not in json.dumps(result.to_dict())
    assert result.to_dict()["connections"][0]["key"] == result.rows[0].key != KEY


def test_no_models_yet_and_an_env_without_its_use_case(tmp_path: Path) -> None:
    write_use_case(tmp_path)
    ws = Workspace.find(tmp_path)
    assert list_models(ws, load_use_case(ws, "mini")).to_dict() == {"use_case": "mini", "models": []}
    with pytest.raises(UsageError, match="models list --env needs --use-case"):
        list_models(ws, env="dev")
