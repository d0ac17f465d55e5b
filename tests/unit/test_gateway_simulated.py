from __future__ import annotations

from typing import Any

import pytest

from llmops.llm.gateway.redaction import redact_bytes, redact_text
from llmops.llm.gateway.routes import Endpoint
from llmops.llm.gateway.simulated import estimate_tokens, simulated_answer

CHAT = {
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is a URL?"}],
    "temperature": 0,
}


def test_same_request_same_answer_other_request_other_answer() -> None:
    first, again = simulated_answer(Endpoint.CHAT, "m", CHAT), simulated_answer(Endpoint.CHAT, "m", CHAT)
    other = simulated_answer(Endpoint.CHAT, "m", {**CHAT, "temperature": 0.5})
    assert first == again
    assert first["choices"][0]["message"]["content"] != other["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    ("endpoint", "body", "prompt_tokens"),
    [
        (Endpoint.CHAT, CHAT, estimate_tokens("Be brief.\nWhat is a URL?") + 8),
        (Endpoint.COMPLETIONS, {"prompt": "x" * 40}, 10),
        (Endpoint.EMBEDDINGS, {"input": ["abcd", "efgh"], "dimensions": 8}, 3),
    ],
)
def test_usage_counts_scale_with_the_prompt(endpoint: Endpoint, body: dict[str, Any], prompt_tokens: int) -> None:
    answer = simulated_answer(endpoint, "m", body, reported_model="simulated-m")
    usage = answer["usage"]
    assert (answer["model"], usage["prompt_tokens"]) == ("simulated-m", prompt_tokens)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage.get("completion_tokens", 0)
    if endpoint == Endpoint.EMBEDDINGS:
        assert [len(d["embedding"]) for d in answer["data"]] == [8, 8]
    else:
        assert usage["completion_tokens"] > 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key sk-abcdef and sk-abcdef", "key *** and ***"),
        ("short x stays", "short x stays"),  # secrets under 4 characters are not masked
    ],
)
def test_redaction(text: str, expected: str) -> None:
    secrets = ["sk-abcdef", "x", ""]
    assert redact_text(text, secrets) == expected
    assert redact_bytes(text.encode(), secrets) == expected.encode()
