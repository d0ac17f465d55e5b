"""A server process that cannot load its model is reported with its log, and leaves no record."""

from __future__ import annotations

import importlib.util
import json

import pytest

from llmops.errors import StepFailed
from llmops.llm.embedded import ensure_running, get_model

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("xllamacpp") is None, reason="xllamacpp is not installed"
)


def test_a_model_file_that_does_not_load_fails_with_the_log_tail(tmp_path):
    models_dir, state_dir = tmp_path / "models", tmp_path / "state"
    models_dir.mkdir()
    broken = models_dir / "smollm2-135m.gguf"
    broken.write_bytes(b"not a gguf file" * 1000)
    # Forge the marker: the server must still refuse to pretend a file loads when llama.cpp cannot load it.
    stat = broken.stat()
    marker = {"sha256": get_model("smollm2-135m").sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    (models_dir / "smollm2-135m.gguf.verified.json").write_text(json.dumps(marker))

    with pytest.raises(StepFailed) as caught:
        ensure_running("smollm2-135m", state_dir, models_dir)

    log_path = state_dir.resolve() / "embedded" / "smollm2-135m.log"
    message = str(caught.value)
    assert message.startswith(
        f"embedded server 'smollm2-135m' exited with code 1 while starting; see the end of {log_path}:\n"
    )
    assert "failed to load model" in message
    assert not (state_dir / "embedded" / "smollm2-135m.json").exists()
