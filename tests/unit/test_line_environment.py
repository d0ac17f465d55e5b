"""A line's standard variables: an overlay on os.environ for its own context only (and the threads it hands
work to with that context), hiding a variable when its value is None."""

from __future__ import annotations

import contextvars
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from llmops.backends.local.engine.line_environment import line_environment


@pytest.fixture(autouse=True)
def process_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "process-key")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def seen() -> tuple[str | None, str | None, bool]:
    return os.environ.get("OPENAI_API_KEY"), os.getenv("OPENAI_BASE_URL"), "OPENAI_API_KEY" in dict(os.environ)


@pytest.mark.parametrize(("overlay", "inside"), [
    ({"OPENAI_API_KEY": "gateway-token", "OPENAI_BASE_URL": "http://127.0.0.1:1/x/t/v1"},
     ("gateway-token", "http://127.0.0.1:1/x/t/v1", True)),
    ({"OPENAI_API_KEY": None}, (None, None, False)),  # hidden: a real key is never what a flow picks up
    ({}, ("process-key", None, True)),
])
def test_the_overlay_is_what_the_line_sees(overlay: dict[str, str | None],
                                           inside: tuple[str | None, str | None, bool]) -> None:
    with line_environment(overlay):
        assert seen() == inside
        assert ("OPENAI_API_KEY" in os.environ) is inside[2]
    assert seen() == ("process-key", None, True)


def test_it_follows_the_line_into_a_pool_thread_and_no_further() -> None:
    outside: list[tuple[str | None, str | None, bool]] = []
    barrier = threading.Barrier(2)

    def other_thread() -> None:
        barrier.wait()  # while the line's overlay is set
        outside.append(seen())

    thread = threading.Thread(target=other_thread)
    thread.start()
    with line_environment({"OPENAI_API_KEY": "gateway-token"}), ThreadPoolExecutor(1) as pool:
        barrier.wait()
        in_pool = pool.submit(contextvars.copy_context().run, seen).result()
        thread.join()
    assert in_pool == ("gateway-token", None, True)
    assert outside == [("process-key", None, True)]
    assert os.environ["OPENAI_API_KEY"] == "process-key"  # and the process's value never changed
