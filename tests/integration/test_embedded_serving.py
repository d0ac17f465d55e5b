"""The real embedded server with the smallest model: start, answer deterministically, reuse, stop."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmops.llm.embedded import embedded_server, ensure_running, find_running, get_model, status, stop
from llmops.llm.embedded.assembly import is_verified
from llmops.llm.embedded.locations import default_models_dir, model_file
from llmops.llm.embedded.loopback import get_json, post_json

MODEL = "smollm2-135m"
REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.embedded,
    pytest.mark.skipif(
        not is_verified(model_file(default_models_dir(), MODEL), get_model(MODEL).sha256),
        reason=f"embedded model '{MODEL}' is not installed (llmops embedded install --model {MODEL})",
    ),
]

QUESTION = [
    {"role": "system", "content": "Answer with one short sentence."},
    {"role": "user", "content": "What colour is the sky on a clear day?"},
]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _ask(base_url: str) -> str:
    request = {"model": MODEL, "messages": QUESTION, "temperature": 0, "max_tokens": 40}
    answer = post_json(f"{base_url}/chat/completions", request, timeout=120)
    return str(answer["choices"][0]["message"]["content"])


def test_chat_completion_is_deterministic_and_the_server_stops_on_exit(tmp_path):
    with embedded_server(MODEL, tmp_path) as base_url:
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        record = find_running(MODEL, tmp_path)
        assert record is not None and record.base_url == base_url
        assert get_json(f"{record.address}/health", timeout=5) == {"status": "ok"}
        first, second = _ask(base_url), _ask(base_url)
        assert first.strip() and first == second
        # A nested user of the same state dir reuses the server and does not stop it.
        with embedded_server(MODEL, tmp_path) as nested_url:
            assert nested_url == base_url
        assert find_running(MODEL, tmp_path) == record
    assert find_running(MODEL, tmp_path) is None
    assert not _pid_alive(record.pid)
    assert not (tmp_path / "embedded" / f"{MODEL}.json").exists()


def test_a_server_started_by_another_process_is_reused_then_stopped(tmp_path):
    code = (
        "from llmops.llm.embedded import ensure_running; "
        f"print(ensure_running({MODEL!r}, {str(tmp_path)!r})[0])"
    )
    started = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             cwd=REPO_ROOT, timeout=120)
    base_url = started.stdout.strip()
    try:
        assert ensure_running(MODEL, tmp_path) == (base_url, False)
        measured = status(MODEL, tmp_path)
        assert (measured.installed, measured.verified, measured.running) == (True, True, True)
        assert measured.base_url == base_url
        assert measured.speed is not None and measured.speed.completion_tokens == 64
        assert measured.speed.decode_tokens_per_second > 0
        assert measured.speed.prompt_tokens_per_second is not None
    finally:
        pid = find_running(MODEL, tmp_path).pid  # type: ignore[union-attr]
        assert stop(MODEL, tmp_path) is True
    assert not _pid_alive(pid)


def test_a_session_starts_the_model_on_its_first_call_only(tmp_path):
    from llmops.llm.gateway import Tag
    from llmops.llm.providers import Use
    from llmops.llm.session import LlmSession, LlmSettings

    settings = LlmSettings(state_dir=tmp_path, cassette_dir=tmp_path / "cassettes", provider="embedded",
                           embedded_model=MODEL, cache=False)
    with LlmSession(settings, [Use("flow", "node", "aoai")]) as session:
        assert find_running(MODEL, tmp_path) is None  # a run that needs no answer never starts the model
        import openai

        base = session.gateway.route("aoai", "openai", Tag(run="lazy"))
        client = openai.OpenAI(api_key=session.gateway.token, base_url=base, max_retries=0, timeout=120)
        answers = [client.chat.completions.create(model=MODEL, messages=QUESTION, temperature=0, max_tokens=20)
                   for _ in range(2)]
        record = find_running(MODEL, tmp_path)
        assert record is not None  # started once, by the first call; the second reused it
        assert answers[0].choices[0].message.content == answers[1].choices[0].message.content
    assert find_running(MODEL, tmp_path) is None and not _pid_alive(record.pid)


def test_a_server_session_starts_the_model_at_once(tmp_path):
    from llmops.llm.providers import Use
    from llmops.llm.session import LlmSession, LlmSettings

    settings = LlmSettings(state_dir=tmp_path, cassette_dir=tmp_path / "cassettes", provider="embedded",
                           embedded_model=MODEL, start_model_now=True)
    with LlmSession(settings, [Use("flow", "node", "aoai")]):
        record = find_running(MODEL, tmp_path)
        assert record is not None  # the endpoint's first request does not wait for the model
    assert find_running(MODEL, tmp_path) is None and not _pid_alive(record.pid)
