"""The embedded server answers a prompt the same whatever was asked before it.

An experiment runs lines concurrently, so the request before any given one differs from run to run.
With llama.cpp's prompt-prefix reuse on, part of a prompt was taken from the KV cache left by that
earlier request and only the rest was evaluated, in other batch shapes, so even at temperature 0
some answers changed with the order of calls. Each prompt here is asked twice in a row, after a prompt
that shares part of it: with reuse on, the first call takes that shared part from the cache and the
second nearly all of it (on the machine this was written on, all three prompts then changed their answer;
with reuse on, 3 of 7 prompts asked in the earlier, longer version of this test did). Which answers flip
depends on the CPU's kernels, so the cause is also checked directly: no prompt token comes from the cache.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from llmops.llm.embedded import embedded_server, ensure_running, find_running, get_model, stop
from llmops.llm.embedded.assembly import is_verified
from llmops.llm.embedded.locations import default_models_dir, model_file
from llmops.llm.embedded.loopback import post_json

MODEL = "smollm2-135m"

pytestmark = [
    pytest.mark.embedded,
    pytest.mark.skipif(
        not is_verified(model_file(default_models_dir(), MODEL), get_model(MODEL).sha256),
        reason=f"embedded model '{MODEL}' is not installed (llmops embedded install --model {MODEL})",
    ),
]

SYSTEM = (
    "Classify the web page as Movie, App, Academic, Channel, Profile, PDF or Other. "
    'Reply with JSON only: {"category": "...", "evidence": "<at most 6 words>"}'
)
SHOTS = (
    ("https://play.google.com/store/apps/details?id=com.whatsapp",
     "Google Play listing of the WhatsApp messaging app.", "App", "Google Play app listing"),
    ("https://www.gnu.org/licenses/gpl-3.0.pdf",
     "Text of the GNU General Public License, version 3.", "PDF", "URL ends in .pdf"),
    ("https://www.cnn.com/", "CNN home page with breaking news and top stories.", "Other", "news home page"),
)
# (url, page text, number of few-shot examples): prompts of different lengths sharing prefixes.
PAGES = (
    ("https://www.imdb.com/title/tt0816692/",
     "Interstellar (2014). Adventure, drama, sci-fi, 2h 49m. Directed by Christopher Nolan; stars Matthew "
     "McConaughey and Anne Hathaway. A team of explorers travels through a wormhole in space in an attempt "
     "to ensure humanity's survival. Trailer, cast and ratings.", 2),
    ("https://play.google.com/store/apps/details?id=com.duolingo",
     "Duolingo: Language Lessons - Apps on Google Play. Duolingo. In-app purchases. Learn Spanish, French, "
     "German, Japanese and more with short, game-like lessons. Ratings and reviews, data safety, install.", 1),
)


def _messages(url: str, text: str, shots: int) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": SYSTEM}]
    for shot_url, shot_text, category, evidence in SHOTS[:shots]:
        messages.append({"role": "user", "content": f"URL: {shot_url}\nSummary: {shot_text}"})
        messages.append({"role": "assistant", "content": json.dumps({"category": category, "evidence": evidence})})
    messages.append({"role": "user", "content": f"URL: {url}\nSummary: {text}"})
    return messages


def _requests() -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = [
        {"model": MODEL, "messages": _messages(*page), "temperature": 0, "max_tokens": 48} for page in PAGES
    ]
    # A flow that leaves the temperature unset samples: the server's fixed seed must make that repeatable too.
    requests.append({"model": MODEL, "messages": _messages(*PAGES[0]), "max_tokens": 48})
    return requests


def _ask(base_url: str, request: dict[str, Any]) -> str:
    answer = post_json(f"{base_url}/chat/completions", request, timeout=120)
    # llama.cpp reports how many prompt tokens it took from the cache instead of evaluating them.
    assert answer["timings"]["cache_n"] == 0, "a prompt prefix was reused from an earlier request"
    return str(answer["choices"][0]["message"]["content"])


def test_answers_do_not_depend_on_the_order_of_calls(tmp_path):
    requests = _requests()
    with embedded_server(MODEL, tmp_path) as base_url:
        # The first prompt on a fresh server shares nothing; each later one shares the system prompt and
        # few-shot examples with the one before; each repeat shares the whole prompt with the call before it.
        answers = [[_ask(base_url, request), _ask(base_url, request)] for request in requests]
    assert all(answer.strip() for pair in answers for answer in pair)
    differing = {index: pair for index, pair in enumerate(answers) if pair[0] != pair[1]}
    assert differing == {}


def test_a_server_that_reuses_prompt_prefixes_is_replaced_not_reused(tmp_path):
    # Such a server was started by an older llmops, or to measure what turning reuse off costs.
    ensure_running(MODEL, tmp_path, prompt_reuse=True)
    reusing = find_running(MODEL, tmp_path)
    try:
        assert reusing is not None and reusing.prompt_reuse is True
        _, started = ensure_running(MODEL, tmp_path)
        replacement = find_running(MODEL, tmp_path)
        assert started and not _pid_alive(reusing.pid)
        assert replacement is not None and replacement.prompt_reuse is False
    finally:
        stop(MODEL, tmp_path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
