"""An unknown key is named with the valid key it most likely misspells, in every config file and in `.env`."""

from __future__ import annotations

import pytest

from llmops.config.nearest_name import did_you_mean, nearest_name
from llmops.errors import LlmopsError
from llmops.llm.connections import parse_connection

DATASET_KEYS = ["DATASET_DESC", "DATASET_NAME", "DATA_PATH", "DATA_PURPOSE", "ENV_NAME", "PROMPT_FLOW_CONFIG_NAME",
                "RELATED_EXP_DATASET"]


@pytest.mark.parametrize(("name", "expected"), [
    ("DATASET_NAM", "DATASET_NAME"),
    ("dataset_name", "DATASET_NAME"),  # case does not matter
    ("DATA_SET_NAME", "DATASET_NAME"),
    ("RELATED_DATASET", "RELATED_EXP_DATASET"),
    ("PURPOSE", "DATA_PURPOSE"),
    ("DESC", None),  # too short to tell DATASET_DESC from the rest
    ("COLOUR", None),
])
def test_the_nearest_valid_name_or_none(name: str, expected: str | None) -> None:
    assert nearest_name(name, DATASET_KEYS) == expected
    assert did_you_mean(name, DATASET_KEYS) == (f"did you mean '{expected}'? " if expected else "")


@pytest.mark.parametrize(("connection", "message"), [
    ('{"api_key": "k", "api_bse": "https://x.openai.azure.com/"}',
     ".env line 1: aoai: unknown key(s) api_bse; did you mean 'api_base'? valid: api_key, api_base, api_type, "
     "api_version, base_url, model"),
    ('{"api_key": "k", "colour": "blue"}',
     ".env line 1: aoai: unknown key(s) colour; valid: api_key, api_base, api_type, api_version, base_url, model"),
])
def test_an_unknown_connection_key_is_named_with_the_nearest(connection: str, message: str) -> None:
    with pytest.raises(LlmopsError) as raised:
        parse_connection("aoai", connection, ".env line 1")
    assert str(raised.value) == message
