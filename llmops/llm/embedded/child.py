"""The body of the background server process (llama.cpp's HTTP server through xllamacpp).

Started by `server.start` as `python -c "...; serve(<settings JSON>)"`. It binds 127.0.0.1 on a port
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

# Marker searched in /proc/<pid>/cmdline before we signal a recorded pid (pids get reused).
PROCESS_MARKER = "llmops.llm.embedded.child"
BOOT_CODE = f"import sys; from {PROCESS_MARKER} import serve; serve(sys.argv[1])"


@dataclass(frozen=True)
class ServerSettings:
    model_path: str
    alias: str
    ready_file: str
    threads: int = 2
    context_tokens: int = 4096
    seed: int = 42
    # Host-RAM cache of earlier prompts' KV state; llama.cpp's default (8 GiB) is too much for a laptop.
    prompt_cache_mib: int = 1024

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
    params.cpuparams.n_threads = settings.threads
    params.cpuparams_batch.n_threads = settings.threads
    params.cache_prompt = True
    params.cache_ram_mib = settings.prompt_cache_mib
    params.sampling.seed = settings.seed

    stop_requested = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
    signal.signal(signal.SIGINT, lambda *_: stop_requested.set())

    server = xllamacpp.Server(params)  # returns once the model is loaded and the port is bound
    _report_ready(Path(settings.ready_file), server.listening_address)
    while not stop_requested.wait(1.0):
        pass
    del server  # the destructor stops llama.cpp's loop and closes the port


def _report_ready(ready_file: Path, address: str) -> None:
    temporary = ready_file.with_name(ready_file.name + ".tmp")
    temporary.write_text(json.dumps({"address": address, "pid": os.getpid()}), encoding="utf-8")
    os.replace(temporary, ready_file)
