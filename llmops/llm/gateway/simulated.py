"""A simulated upstream: deterministic answers with realistic usage counts, no model, no HTTP.

Answers are derived from the request's hash, so the same request always gets the same answer and
different requests get different ones. Tests and benchmarks select it with Upstream(kind="simulated").
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Mapping
from typing import Any

from llmops.llm.gateway.hashing import canonical_json
from llmops.llm.gateway.routes import Endpoint
from llmops.llm.gateway.translate import UpstreamRequest
from llmops.llm.gateway.transport import UpstreamResponse, no_answer

_WORDS = (
    "the answer depends on context and the request is handled with care so this reply stays short "
    "clear useful and deterministic for every identical question asked of the simulated model"
).split()
_EMBEDDING_DIMENSIONS = 1536
SIMULATED_MODEL_PREFIX = "simulated-"
# Rough English average; enough for token counts that look and scale like a real tokenizer's.
_CHARS_PER_TOKEN = 4
_TOKENS_PER_MESSAGE = 4


def estimate_tokens(text: str) -> int:
    return max(1, (len(text) + _CHARS_PER_TOKEN - 1) // _CHARS_PER_TOKEN)


def _prompt_text(endpoint: Endpoint, body: Mapping[str, Any]) -> tuple[str, int]:
    """All prompt text of a request and the per-message overhead tokens."""
    if endpoint == Endpoint.CHAT:
        messages = body.get("messages") or []
        texts = [
            m.get("content") if isinstance(m.get("content"), str) else canonical_json(m.get("content"))
            for m in messages
            if isinstance(m, dict)
        ]
        return "\n".join(t for t in texts if t), _TOKENS_PER_MESSAGE * len(messages)
    prompt = body.get("prompt") if endpoint == Endpoint.COMPLETIONS else body.get("input")
    if isinstance(prompt, list):
        return "\n".join(str(p) for p in prompt), 0
    return str(prompt or ""), 0


def simulated_answer(
    endpoint: Endpoint, model: str, body: Mapping[str, Any], reported_model: str | None = None
) -> dict[str, Any]:
    """The full (non-streaming) response body the simulated model gives to this request.

    `reported_model` is the response's "model" field (default: `model`), the name prices are looked up by.
    """
    digest = hashlib.sha256(canonical_json({"endpoint": endpoint.value, "model": model, "body": body}).encode())
    seed = int.from_bytes(digest.digest()[:8], "big")
    rng = random.Random(seed)
    prompt_text, overhead = _prompt_text(endpoint, body)
    prompt_tokens = estimate_tokens(prompt_text) + overhead
    created = 1_700_000_000 + seed % 10_000_000
    model = reported_model or model
    response_id = f"sim-{digest.hexdigest()[:24]}"
    if endpoint == Endpoint.EMBEDDINGS:
        inputs = body.get("input")
        count = len(inputs) if isinstance(inputs, list) else 1
        dimensions = int(body.get("dimensions") or _EMBEDDING_DIMENSIONS)
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": [round(rng.uniform(-1, 1), 6) for _ in range(dimensions)],
            }
            for i in range(count)
        ]
        return {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
        }
    max_words = int(body.get("max_tokens") or 24)
    words = [rng.choice(_WORDS) for _ in range(max(1, min(max_words, rng.randint(6, 24))))]
    text = f"Simulated answer {digest.hexdigest()[:8]}: {' '.join(words)}."
    completion_tokens = estimate_tokens(text)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if endpoint == Endpoint.CHAT:
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
            "logprobs": None,
        }
        return {
            "id": response_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [choice],
            "usage": usage,
        }
    return {
        "id": response_id,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}],
        "usage": usage,
    }


class SimulatedTransport:
    """Answers in-process after a fixed latency, like a model that takes `latency_s` per call."""

    def __init__(self, latency_s: float) -> None:
        self._latency_s = latency_s

    def send(self, request: UpstreamRequest, timeout_s: float) -> UpstreamResponse:
        if self._latency_s > timeout_s:
            time.sleep(timeout_s)
            raise no_answer(timeout_s)
        if self._latency_s > 0:
            time.sleep(self._latency_s)
        # Reported as "simulated-<model>" so no price of a real model applies to it.
        answer = simulated_answer(
            request.endpoint,
            request.model,
            request.body,
            reported_model=f"{SIMULATED_MODEL_PREFIX}{request.model}",
        )
        return UpstreamResponse(200, json.dumps(answer).encode(), {"content-type": "application/json"})

    def close(self) -> None:
        """Nothing to release."""
