"""Where a connection's LLM calls really go: Azure OpenAI, an OpenAI-compatible server, or simulated."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from llmops.errors import ConfigError


class UpstreamKind(StrEnum):
    AZURE = "azure"  # {base}/openai/deployments/{deployment}/...?api-version=, header api-key
    OPENAI = "openai"  # {base}/chat/completions, Authorization: Bearer (OpenAI, llama.cpp server...)
    SIMULATED = "simulated"  # in-process answers for tests and benchmarks; no HTTP


@dataclass(frozen=True)
class Upstream:
    """One upstream LLM service and how to reach it.

    `name` is the upstream's identity in cache keys and accounting (for example
    "embedded-qwen2.5-1.5b" or "azure-contoso"): two upstreams with the same name share cached answers.
    `model`, when set, replaces whatever model or deployment the flow asked for: the only model the
    upstream's key is used for.
    `defined_in` says where the connection comes from (".env line 3"), for the error a refused key gives.
    """

    name: str
    kind: UpstreamKind | str
    base_url: str = ""
    api_key: str = field(default="", repr=False)
    api_version: str = "2024-02-01"
    model: str | None = None
    max_concurrency: int = 16  # prompt flow runs up to 16 lines at once by default
    simulated_latency_s: float = 0.0
    defined_in: str = ""
    # Starts the service on the first call and returns its base URL (the embedded model); then
    # base_url is not needed. See lazy_transport.py.
    start: Callable[[], str] | None = field(default=None, repr=False, compare=False)
    # The seed the upstream samples with when a request names none, for upstreams whose sampling is seeded and
    # so repeats itself (the embedded model, the simulated one). Then trial t > 0 of a sampled request is sent
    # with the seed plus t: the trials can differ, and each gives the same answer again. None: not seeded.
    trial_seed: int | None = None

    def __post_init__(self) -> None:
        where = f"upstream '{self.name}'"
        problems: list[str] = []
        if not self.name:
            problems.append("upstream: name: must not be empty")
        valid_kinds = [k.value for k in UpstreamKind]
        if self.kind not in valid_kinds:
            problems.append(f"{where}: kind: unknown value '{self.kind}'; valid: {', '.join(valid_kinds)}")
        else:
            object.__setattr__(self, "kind", UpstreamKind(self.kind))
        if self.kind != UpstreamKind.SIMULATED and self.start is None:
            parts = urlsplit(self.base_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                problems.append(
                    f"{where}: base_url: '{self.base_url}' is not an http(s) URL; "
                    "give the service root, e.g. https://contoso.openai.azure.com or http://127.0.0.1:8080/v1"
                )
        if self.max_concurrency < 1:
            problems.append(f"{where}: max_concurrency: {self.max_concurrency} must be at least 1")
        if problems:
            raise ConfigError(problems)

    def deployment_for(self, requested_model: str) -> str:
        """The model (OpenAI kind) or deployment (Azure kind) to call for a flow's requested model."""
        return self.model or requested_model
