"""The body of the background server process (llama.cpp's HTTP server through xllamacpp).

Started by `llama_server.ensure_running` as `python -c "...; serve(<settings JSON>)"`. It binds 127.0.0.1 on a port
chosen by the OS (no race between picking a free port and binding it), reports the address through
a ready file, and runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# Marker searched in /proc/<pid>/cmdline before we signal a recorded pid (pids get reused).
PROCESS_MARKER = "llmops.llm.embedded.child"
BOOT_CODE = f"import sys; from {PROCESS_MARKER} import serve; serve(sys.argv[1])"
# llama.cpp's defaults, pinned: how a prompt is split into batches changes the numbers it is evaluated with.
BATCH_TOKENS = 2048
MICRO_BATCH_TOKENS = 512
PROMPT_CACHE_MIB = 1024  # only with prompt reuse on
# The sampler seed of every request that names none (the gateway sends a trial's requests with this + trial).
DEFAULT_SEED = 42


@dataclass(frozen=True)
class ServerSettings:
    model_path: str
    alias: str
    ready_file: str
    threads: int = 2
    context_tokens: int = 4096
    seed: int = DEFAULT_SEED
    # Off for every server llmops runs: see `_configure_prompt_reuse`. On only to measure what that costs.
    prompt_reuse: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServerSettings:
        return cls(**json.loads(text))


def serve(settings_json: str) -> None:
    settings = ServerSettings.from_json(settings_json)
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = settings.model_path
    params.model_alias = {settings.alias}
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    params.n_ctx = settings.context_tokens
    # One slot: requests are served one at a time, so no batching of two requests changes the numbers
    # a temperature-0 answer is computed with (recorded responses are replayed and must match).
    params.n_parallel = 1
    # Everything else that shapes the arithmetic is pinned too, not left to load or to xllamacpp's defaults:
    # the thread count (never derived from the cores free at start), the batch sizes a prompt is split
    # into, no context shift (a long answer stops at the context instead of evaluating a shifted prompt).
    params.cpuparams.n_threads = settings.threads
    params.cpuparams_batch.n_threads = settings.threads
    params.n_batch = BATCH_TOKENS
    params.n_ubatch = MICRO_BATCH_TOKENS
    params.ctx_shift = False
    # A request that leaves the temperature unset samples (0.8); each request seeds its sampler with this.
    params.sampling.seed = settings.seed
    _configure_prompt_reuse(params, settings.prompt_reuse)

    stop_requested = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
    signal.signal(signal.SIGINT, lambda *_: stop_requested.set())

    server = xllamacpp.Server(params)  # returns once the model is loaded and the port is bound
    _report_ready(Path(settings.ready_file), server.listening_address)
    while not stop_requested.wait(1.0):
        pass
    del server  # the destructor stops llama.cpp's loop and closes the port


def _configure_prompt_reuse(params: Any, reuse: bool) -> None:
    """Evaluate every prompt whole: no prefix taken from an earlier request's KV cache.

    llama.cpp reuses the longest prefix a prompt shares with what its slot (or its host-RAM prompt cache)
    holds from earlier requests and evaluates only the rest. That part is then computed in other batch
    shapes than when the prompt is evaluated whole, so the logits differ in the last bits and a greedy
    (temperature 0) answer can flip. An experiment runs lines concurrently, so which request came before
    differs from run to run: with reuse on, the same commit scored 0.900 or 1.000 on web_classification.
    Off, an answer depends only on its own request. The price is evaluating the shared few-shot prefix
    again on every call (benchmarks/embedded_prompt_reuse.py measures it).
    """
    params.cache_prompt = reuse  # the default of the per-request "cache_prompt" field
    params.n_cache_reuse = 0  # no reuse of shifted chunks either (llama.cpp's default, pinned)
    # Host-RAM cache of earlier prompts' KV state (llama.cpp's default, 8 GiB, is too much for a laptop).
    params.cache_ram_mib = PROMPT_CACHE_MIB if reuse else 0
    params.cache_idle_slots = reuse  # saving idle slots needs that cache


def _report_ready(ready_file: Path, address: str) -> None:
    temporary = ready_file.with_name(ready_file.name + ".tmp")
    temporary.write_text(json.dumps({"address": address, "pid": os.getpid()}), encoding="utf-8")
    os.replace(temporary, ready_file)
