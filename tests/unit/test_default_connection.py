"""The connection `default` (of model configurations that name none) from the standard variables prompt flow's
examples set, in `.env` or the environment; a `default={...}` line wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops.llm.connections import read_connections

AZURE = "AZURE_OPENAI_ENDPOINT=https://r.openai.azure.com/\nAZURE_OPENAI_API_KEY=azure-key-123456789\n"


@pytest.mark.parametrize(("env_file", "environ", "expected"), [
    (AZURE, {}, ("azure", "https://r.openai.azure.com/", "azure-key-123456789", "2024-02-01",
                 ".env line 1 (the standard variables)")),
    (AZURE + "OPENAI_API_VERSION=2024-06-01\n", {}, ("azure", "https://r.openai.azure.com/", "azure-key-123456789",
                                                     "2024-06-01", ".env line 1 (the standard variables)")),
    ("", {"OPENAI_API_KEY": "sk-openai-123456789", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"},
     ("openai", "http://127.0.0.1:9/v1", "sk-openai-123456789", "2024-02-01",
      "environment variable OPENAI_API_KEY (the standard variables)")),
    # The environment wins over .env, as for every connection.
    (AZURE, {"AZURE_OPENAI_API_KEY": "from-ci-123456789"}, ("azure", "https://r.openai.azure.com/",
                                                            "from-ci-123456789", "2024-02-01",
                                                            ".env line 1 (the standard variables)")),
    (AZURE + 'default={"api_key": "line-key-123456789", "api_type": "openai"}\n', {},
     ("openai", "https://api.openai.com/v1", "line-key-123456789", "2024-02-01", ".env line 3")),
])
def test_default_connection(tmp_path: Path, env_file: str, environ: dict[str, str],
                            expected: tuple[str, ...]) -> None:
    (tmp_path / ".env").write_text(env_file, encoding="utf-8")
    default = read_connections(tmp_path / ".env", environ)["default"]
    assert (default.api_type, default.target, default.api_key, default.api_version, default.source) == expected


def test_no_standard_variables_no_default(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AZURE_OPENAI_ENDPOINT=https://r.openai.azure.com/\n", encoding="utf-8")
    assert "default" not in read_connections(tmp_path / ".env", {})  # an endpoint without a key is no connection
