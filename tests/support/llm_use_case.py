"""The mini use case with one LLM call per line, wired to a loopback OpenAI-compatible server through `.env`.

Runs go through the real CLI (tests/support/cli.py), the real gateway and prompt flow's real LLM tool; the
upstream is a LoopbackUpstream in the test process, so a test controls its answers and counts its calls.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from tests.support.loopback_upstream import LoopbackUpstream, ScriptedAnswer
from tests.support.mini_use_case import ROWS, write_use_case

LLM_DAG = """\
inputs:
  url:
    type: string
outputs:
  category:
    type: string
    reference: ${classify.output}
nodes:
- name: classify
  type: llm
  source: {type: code, path: classify.jinja2}
  inputs: {deployment_name: gpt-35-turbo, temperature: 0, max_tokens: 16, url: "${inputs.url}"}
  connection: aoai
  provider: AzureOpenAI
  api: chat
  module: promptflow.tools.aoai
"""
PROMPT = "# system:\nAnswer App or None.\n\n# user:\n{{url}}\n"


def write_llm_use_case(root: Path, upstream: LoopbackUpstream, rows: list[dict[str, Any]] = ROWS) -> Path:
    """The mini use case whose standard flow asks the LLM once per line, and a `.env` naming `upstream`."""
    folder = write_use_case(root)
    standard = folder / "flows/standard"
    (standard / "classify.py").unlink()
    (standard / "flow.dag.yaml").write_text(LLM_DAG, encoding="utf-8")
    (standard / "classify.jinja2").write_text(PROMPT, encoding="utf-8")
    (folder / "data/pr.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    write_connection(root, upstream)
    return folder


def write_connection(root: Path, upstream: LoopbackUpstream) -> None:
    """A `.env` whose connection `aoai` is `upstream` (use it with --provider openai_compatible)."""
    connection = {"api_key": "stub-key-0123456789", "api_type": "openai", "base_url": upstream.openai_base}
    (root / ".env").write_text(f"aoai={json.dumps(connection)}\n", encoding="utf-8")


# A rate limit that asks for a 1 ms wait: the gateway retries at once, so an outage costs no test time.
RATE_LIMITED = ScriptedAnswer(429, "rate limited", {"retry-after-ms": "1"})


def category(url: str) -> str:
    """The answer a good classifier gives for the mini rows: right on 3 of the 4 (accuracy 0.75)."""
    return "App" if "apps." in url else "None"


class ClassifyingUpstream(LoopbackUpstream):
    """A loopback upstream that classifies the line's url (so metrics mean something), with two faults.

    While `down`, every call is answered 429, except the first `healthy_calls` calls; and no call is
    answered before `gate` is set (it is set from the start), while `arrived` counts the calls waiting.
    """

    def __init__(self, healthy_calls: int = 0, down: bool = True) -> None:
        super().__init__()
        self.down = down
        self.gate = threading.Event()
        self.gate.set()
        self.arrived = 0
        self._healthy_left = healthy_calls
        self._outage_lock = threading.Lock()

    def answer(self, path: str, headers: dict[str, str], raw_body: bytes) -> tuple[int, dict[str, str], bytes]:
        with self._outage_lock:
            self.arrived += 1
            failing = self.down and self._healthy_left <= 0
            self._healthy_left -= 1
        self.gate.wait()
        if failing:
            self.push(RATE_LIMITED)
        status, extra, body = super().answer(path, headers, raw_body)
        if status != 200:
            return status, extra, body
        completion = json.loads(body)
        completion["choices"][0]["message"]["content"] = category(_user_text(json.loads(raw_body)))
        return status, extra, json.dumps(completion).encode()

    def urls_asked(self, since: int = 0) -> list[str]:
        """The line's url of every call received from call number `since` on (retries included)."""
        return [_user_text(r.body) for r in self.requests[since:]]


def _user_text(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"]).strip()
