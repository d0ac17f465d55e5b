"""The embedded server answers a prompt the same whatever was asked before it.

An experiment runs lines concurrently, so the request before any given one differs from run to run.
With llama.cpp's prompt-prefix reuse on, part of a prompt was taken from the KV cache left by that
earlier request and only the rest was evaluated, in other batch shapes, so even at temperature 0
some answers changed with the order of calls (on the machine this was written on, 3 of these 7 did).
Which answers flip depends on the CPU's kernels, so the cause is also checked directly: no prompt token
comes from the cache.
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
    ("https://www.imdb.com/title/tt1375666/",
     "Inception (2010). Action, adventure, sci-fi, 2h 28m. Directed by Christopher Nolan; stars Leonardo "
     "DiCaprio. A thief who steals corporate secrets through dream-sharing technology is given the task of "
     "planting an idea into the mind of a CEO. Full cast and crew, trailers and ratings.", 2),
    ("https://letterboxd.com/film/parasite-2019/",
     "Parasite, 2019, directed by Bong Joon Ho. All unemployed, Ki-taek's family takes a peculiar interest in "
     "the wealthy Parks. Film details: cast, crew, genres, releases. Reviews, ratings and lists from members.", 1),
    ("https://play.google.com/store/apps/details?id=com.spotify.music",
     "Spotify: Music and Podcasts - Apps on Google Play. Spotify AB. Contains ads; in-app purchases. Listen to "
     "songs, albums, playlists and podcasts, and discover new music. Install on your Android device.", 3),
    ("https://www.rottentomatoes.com/m/the_godfather",
     "The Godfather (1972). Crime drama, R, 2h 55m. Directed by Francis Ford Coppola; stars Marlon Brando, "
     "Al Pacino and James Caan. The aging patriarch of a New York crime family hands control of his empire to "
     "his reluctant son. Critic reviews, audience score and where to watch.", 3),
)
UNRELATED = [{"role": "user", "content": "Name three colours."}]


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
        # Order 1: each prompt after an unrelated one, so it shares no more than the chat template's first tokens.
        first: dict[int, str] = {}
        for index, request in enumerate(requests):
            _ask(base_url, {"model": MODEL, "messages": UNRELATED, "temperature": 0, "max_tokens": 8})
            first[index] = _ask(base_url, request)
        # Order 2: reversed, each prompt right after the previous few-shot prompt (a shared prefix) and then
        # again at once (its whole prompt was evaluated by the call before).
        again: dict[int, list[str]] = {index: [] for index in first}
        for index in reversed(range(len(requests))):
            again[index] += [_ask(base_url, requests[index]), _ask(base_url, requests[index])]
    assert all(answer.strip() for answer in first.values())
    differing = {index: (first[index], again[index]) for index in first if set(again[index]) != {first[index]}}
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
