"""math_coding's sandbox in the real pipeline: `llmops run` on a copy of the use case whose LLM (a loopback
server) answers three questions with hostile programs: one loops forever, one allocates without bound, one
connects to a server listening on this machine. Each is stopped, and its line is kept as the model's wrong
answer with the reason in the flow's `status` and `error` outputs; the run itself ends normally, with the
well-behaved fourth line right and no failed line.

The copy's time limit is 2 s (the shipped flow's is 5 s), so the endless loop costs 2 s of the test."""

from __future__ import annotations

import csv
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import llmops_process as llmops  # the sandbox starts processes of its own
from tests.support.llm_use_case import write_connection
from tests.support.loopback_upstream import LoopbackUpstream
from tests.support.repo_copy import copy_use_case

pytestmark = pytest.mark.timeout(300)
USE_CASE = "math_coding"


def _programs(port: int) -> dict[str, str]:
    """Question -> the program the 'model' writes for it."""
    return {
        "How long does counting to infinity take?": "n = 0\nwhile True:\n    n += 1",
        "How many bytes fit in memory?": "chunks = []\nwhile True:\n    chunks.append(bytearray(10**7))",
        "What does the server on this machine answer?":
            f"import socket\nconnection = socket.socket()\nconnection.connect(('127.0.0.1', {port}))\nprint(1)",
        "What is six times seven?": "print(6 * 7)",
    }


class ProgramWriter(LoopbackUpstream):
    """Answers each question with its program in a ```python fence, as a model does."""

    def __init__(self, programs: dict[str, str]) -> None:
        super().__init__()
        self.programs = programs

    def answer(self, path: str, headers: dict[str, str], raw_body: bytes) -> tuple[int, dict[str, str], bytes]:
        status, extra, body = super().answer(path, headers, raw_body)
        if status != 200:
            return status, extra, body
        question = str(json.loads(raw_body)["messages"][-1]["content"]).strip()
        completion = json.loads(body)
        completion["choices"][0]["message"]["content"] = f"```python\n{self.programs[question]}\n```"
        return status, extra, json.dumps(completion).encode()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A server the socket program tries to reach; it must never see a connection."""
    server = socket.create_server(("127.0.0.1", 0))
    yield server
    server.close()


def _use_case_copy(root: Path, questions: list[str]) -> Path:
    folder = copy_use_case(root, USE_CASE)
    (folder / "data/pr_data.jsonl").write_text(
        "".join(json.dumps({"question": q, "answer": 42}) + "\n" for q in questions), encoding="utf-8")
    dag = folder / "flows/experiment/flow.dag.yaml"
    dag.write_text(dag.read_text(encoding="utf-8").replace("time_limit_seconds: 5", "time_limit_seconds: 2"),
                   encoding="utf-8")
    config = folder / "llmops_config.json"
    settings = json.loads(config.read_text(encoding="utf-8"))
    for env in settings["envs"]:
        env.pop("GATES", None)  # 1 right of 4 is this test's point, not a failed gate
    config.write_text(json.dumps(settings), encoding="utf-8")
    return folder


def test_hostile_programs_are_stopped_and_kept_as_wrong_answers(tmp_path: Path, listener: socket.socket) -> None:
    programs = _programs(listener.getsockname()[1])
    _use_case_copy(tmp_path, list(programs))
    with ProgramWriter(programs) as upstream:
        write_connection(tmp_path, upstream)
        done = llmops(tmp_path, "run", "-u", USE_CASE, "-e", "pr", "--variants", "defaults",
                      "--provider", "openai_compatible")
    assert done.code == 0, done.err[-3000:]
    assert "math_coding_pr_defaults_math_coding_pr_" in done.out and "4 lines, 0 failed" in done.out
    assert "accuracy=0.250, executed_ok=0.250" in done.out

    with (tmp_path / "reports/math_coding/pr/latest/results.csv").open(encoding="utf-8") as handle:
        rows = {row["input.question"]: row for row in csv.DictReader(handle)}
    outcome = {question: (row["output.status"], row["output.error"], row["output.answer"], row["error"])
               for question, row in rows.items()}
    assert outcome == {
        "How long does counting to infinity take?": ("time_limit", "stopped: ran over its 2 s time limit", "", ""),
        "How many bytes fit in memory?": ("memory_limit", "stopped: ran out of its 256 MB memory limit", "", ""),
        "What does the server on this machine answer?": ("refused", "refused: network access (socket.__new__)", "", ""),
        "What is six times seven?": ("ok", "", "42", ""),
    }
    listener.setblocking(False)
    with pytest.raises(BlockingIOError):  # nothing ever connected
        listener.accept()
