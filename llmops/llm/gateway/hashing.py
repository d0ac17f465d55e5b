"""Request identity: the canonical form of a request, its hash, and the repeat index for sampled calls."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from typing import Any

from llmops.llm.gateway.routes import Endpoint

# Transport-only fields: streaming changes how the answer is delivered, not what it is, and the model
# is hashed separately so the OpenAI shape (model in the body) and the Azure shape (deployment in the
# path) of one request share a hash.
_FIELDS_OUTSIDE_IDENTITY = ("stream", "stream_options", "model")
# The OpenAI and Azure APIs sample with temperature 1 when the request does not say.
_API_DEFAULT_TEMPERATURE = 1.0


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _same_number_same_form(value: Any) -> Any:
    """1.0 and 1 are the same temperature: clients differ in which they send, hashes must not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _same_number_same_form(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_same_number_same_form(v) for v in value]
    return value


def canonical_request(body: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _same_number_same_form(v) for k, v in body.items() if k not in _FIELDS_OUTSIDE_IDENTITY}


def is_sampled(endpoint: Endpoint, body: Mapping[str, Any]) -> bool:
    """True when identical requests may rightly get different answers (temperature > 0)."""
    if endpoint == Endpoint.EMBEDDINGS:
        return False
    temperature = body.get("temperature", _API_DEFAULT_TEMPERATURE)
    try:
        return float(temperature if temperature is not None else _API_DEFAULT_TEMPERATURE) > 0
    except (TypeError, ValueError):
        return True


def request_hash(
    endpoint: Endpoint, model: str, body: Mapping[str, Any], repeat: int | None, trial: int = 0
) -> str:
    """The cassette hash: what was asked, independent of which upstream answered.

    `trial` is the repeated trial the call belongs to (TRIALS in llmops_config.json): trial 0 adds nothing,
    so the hashes of a single-trial run, and the caches and cassettes keyed by them, stay what they were.
    """
    identity: dict[str, Any] = {
        "endpoint": endpoint.value,
        "model": model,
        "request": canonical_request(body),
    }
    if repeat is not None:
        identity["repeat"] = repeat
    if trial:
        identity["trial"] = trial
    return hashlib.sha256(canonical_json(identity).encode()).hexdigest()


def cache_key(upstream_name: str, request_digest: str) -> str:
    """The cache key: the request hash bound to one upstream identity."""
    return hashlib.sha256(f"{upstream_name}\n{request_digest}".encode()).hexdigest()


def trial_of_call(endpoint: Endpoint, body: Mapping[str, Any], trial: int) -> int:
    """The trial a call's identity carries: its own for a sampled request, 0 otherwise.

    A request that does not sample (temperature 0, an embedding) is taken as having one answer, as the cache
    always takes it (identical lines share it too): its trials share trial 0's answer. Trials that should differ
    need a temperature above 0.
    """
    return trial if is_sampled(endpoint, body) else 0


class RepeatCounter:
    """Numbers identical sampled requests within one run: 0 for the first, 1 for the second, ...

    Folding the number into the hash keeps repeated trials (n lines asking the same thing at
    temperature 0.7) distinct in cache and cassettes, while a re-run replays the same set of answers.
    """

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def next(self, run: str, base_hash: str) -> int:
        with self._lock:
            index = self._seen.get((run, base_hash), 0)
            self._seen[(run, base_hash)] = index + 1
        return index
