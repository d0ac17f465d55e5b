"""The sampler seed a repeated trial's request goes upstream with.

A model whose sampler is seeded per request (the embedded model: llama.cpp seeds every request with the server's
seed unless the request names one) answers a sampled request the same way every time, so its trials would all
be trial 0. Sending trial t with seed base + t makes the trials differ while each stays reproducible. The seed
is added to what goes upstream only: the call's identity (cache key, cassette hash) carries the trial itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmops.llm.gateway.hashing import is_sampled
from llmops.llm.gateway.routes import Endpoint
from llmops.llm.gateway.upstream import Upstream


def seeded_for_trial(upstream: Upstream, endpoint: Endpoint, body: Mapping[str, Any], trial: int) -> Mapping[str, Any]:
    """`body` with the trial's seed when the upstream's sampling is seeded and the request samples; else `body`."""
    if not trial or upstream.trial_seed is None or not is_sampled(endpoint, body):
        return body
    named = body.get("seed")
    base = named if isinstance(named, int) and not isinstance(named, bool) else upstream.trial_seed
    return {**body, "seed": base + trial}
