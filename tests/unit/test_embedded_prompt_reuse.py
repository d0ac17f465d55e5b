"""Prompt-prefix reuse is off unless asked for, and a server recorded without the setting counts as reusing."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from types import SimpleNamespace

from llmops.llm.embedded.child import ServerSettings, _configure_prompt_reuse
from llmops.llm.embedded.llama_server import ServerRecord, servers


def test_a_server_evaluates_every_prompt_whole_by_default():
    settings = ServerSettings("/models/m.gguf", "m", "/state/m.ready")
    assert settings.prompt_reuse is False
    assert ServerSettings.from_json(settings.to_json()) == settings
    params = SimpleNamespace()
    _configure_prompt_reuse(params, settings.prompt_reuse)
    assert vars(params) == {"cache_prompt": False, "n_cache_reuse": 0, "cache_ram_mib": 0, "cache_idle_slots": False}


def test_prompt_reuse_on_restores_what_llmops_ran_before():
    params = SimpleNamespace()
    _configure_prompt_reuse(params, True)
    assert vars(params) == {"cache_prompt": True, "n_cache_reuse": 0, "cache_ram_mib": 1024, "cache_idle_slots": True}


def test_the_setting_is_recorded_and_an_older_record_means_reuse(tmp_path):
    record = ServerRecord(
        name="smollm2-135m", pid=1234, port=9, address="http://127.0.0.1:9", model_path="/m.gguf", sha256="0" * 64,
        threads=2, context_tokens=4096, started_at="2026-01-01T00:00:00+00:00", startup_seconds=1.0,
        log_path="/m.log", prompt_reuse=False,
    )
    servers(tmp_path).write("smollm2-135m", record)
    assert servers(tmp_path).read("smollm2-135m") == record
    older = {key: value for key, value in asdict(record).items() if key != "prompt_reuse"}
    (tmp_path / "embedded" / "smollm2-135m.json").write_text(json.dumps(older))
    # Readable (so its server can still be stopped), and taken for what servers then did: reuse prefixes.
    assert servers(tmp_path).read("smollm2-135m") == replace(record, prompt_reuse=True)
