"""Measure a running server's speed with one short fixed generation.

The request is fixed (same messages, temperature 0, a fixed number of generated tokens with EOS
ignored, prompt cache off) so figures from different days and machines compare: the prompt is a
few-shot classification prompt of about 200 tokens, the shape of what the pipeline sends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from llmops.errors import StepFailed
from llmops.llm.embedded.loopback import ServerUnavailable, post_json

MEASURED_TOKENS = 64

_MESSAGES = [
    {
        "role": "system",
        "content": (
            "You classify web addresses. Answer with one word: news, shopping, code, video or other. "
            "Examples: https://www.bbc.co.uk/news/world -> news; https://www.amazon.com/dp/B08N5WRWNW -> "
            "shopping; https://github.com/microsoft/promptflow -> code; https://www.youtube.com/watch?v=abc "
            "-> video; https://en.wikipedia.org/wiki/Tokyo -> other; https://www.reuters.com/markets -> "
            "news; https://www.ebay.com/itm/1234 -> shopping; https://gitlab.com/gitlab-org/gitlab -> code."
        ),
    },
    {"role": "user", "content": "https://stackoverflow.com/questions/231767/what-does-the-yield-keyword-do"},
]


@dataclass(frozen=True)
class SpeedMeasurement:
    prompt_tokens: int
    completion_tokens: int
    wall_seconds: float
    # completion tokens / (wall time - the server's reported prompt time, when it reports one)
    decode_tokens_per_second: float
    # from the server's own timings (llama.cpp reports them); None when absent
    prompt_tokens_per_second: float | None
    server_decode_tokens_per_second: float | None


def measure_speed(
    base_url: str, max_tokens: int = MEASURED_TOKENS, timeout: float = 300.0
) -> SpeedMeasurement:
    """Time one fixed chat completion against the OpenAI-compatible `base_url` (ending in /v1)."""
    payload: dict[str, Any] = {
        "messages": _MESSAGES,
        "temperature": 0,
        "max_tokens": max_tokens,
        "ignore_eos": True,  # llama.cpp extension: always generate max_tokens, so the work is fixed
        "cache_prompt": False,  # evaluate the whole prompt every time, so prompt speed is measured
    }
    started = time.perf_counter()
    try:
        answer = post_json(f"{base_url}/chat/completions", payload, timeout=timeout)
    except ServerUnavailable as error:
        raise StepFailed(f"speed measurement against {base_url} failed: {error}") from error
    wall = time.perf_counter() - started
    usage = answer.get("usage") or {}
    completion_tokens = int(usage.get("completion_tokens", 0))
    timings = answer.get("timings") or {}
    prompt_ms = timings.get("prompt_ms")
    decode_seconds = wall - prompt_ms / 1000.0 if prompt_ms is not None else wall
    return SpeedMeasurement(
        prompt_tokens=int(usage.get("prompt_tokens", 0)),
        completion_tokens=completion_tokens,
        wall_seconds=round(wall, 3),
        decode_tokens_per_second=round(completion_tokens / decode_seconds, 2) if decode_seconds > 0 else 0.0,
        prompt_tokens_per_second=_rounded(timings.get("prompt_per_second")),
        server_decode_tokens_per_second=_rounded(timings.get("predicted_per_second")),
    )


def _rounded(value: Any) -> float | None:
    return round(float(value), 2) if value is not None else None
