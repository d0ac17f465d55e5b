"""Request checks shared by the deploy smoke test and test-endpoint: status 200 and every flow output present."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from llmops.errors import LlmopsError
from llmops.serving.client import score
from llmops.serving.endpoint_key import EndpointKey
from llmops.serving.server_log import request_detail


@dataclass(frozen=True)
class RequestCheck:
    name: str  # what was sent: "sample-request.json" or "<dataset> line 3"
    status: int
    deployment: str | None
    seconds: float
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        where = f" on {self.deployment}" if self.deployment else ""
        verdict = "ok" if self.ok else "FAILED: " + "; ".join(self.problems)
        return f"{self.name}: status {self.status}{where} in {self.seconds * 1000:.0f} ms: {verdict}"


class Reply(Protocol):
    """An answer of a scoring URL: serving.client.ScoreReply (local) or backends.targets.ScoringReply (a target)."""

    @property
    def status(self) -> int: ...
    @property
    def deployment(self) -> str | None: ...
    @property
    def body(self) -> Any: ...
    @property
    def seconds(self) -> float: ...
    @property
    def error_message(self) -> str: ...


def check_request(scoring_url: str, name: str, inputs: Any, expected_outputs: list[str],
                  deployment: str | None = None, key: EndpointKey | None = None,
                  server_log: Path | None = None) -> RequestCheck:
    """`server_log`: where to look up why a request failed (a 500 names only its request id)."""
    try:
        reply = score(scoring_url, inputs, deployment, key=key, probe=True)
    except OSError as error:
        return RequestCheck(name, 0, None, 0.0, (f"no answer from {scoring_url}: {error}",))
    found = request_detail(server_log, reply.request_id) if server_log and reply.request_id else None
    return check_reply(name, reply, expected_outputs, deployment, f"server.log: {found}" if found else None)


def check_reply(name: str, reply: Reply, expected_outputs: list[str], deployment: str | None = None,
                detail: str | None = None) -> RequestCheck:
    """Status 200, every flow output present, and (when one was asked for) answered by that deployment.
    `detail`: where to read more about a failure (a server.log line)."""
    problems: list[str] = []
    if reply.status == 0:
        problems.append(str(reply.body))
    elif reply.status != 200:
        problems.append(f"expected status 200, got {reply.status}: {reply.error_message or reply.body}"
                        + (f"; {detail}" if detail else ""))
    else:
        got = sorted(reply.body) if isinstance(reply.body, dict) else []
        missing = [key for key in expected_outputs if key not in got]
        if missing:
            problems.append(f"missing output(s) {', '.join(missing)}; got: {', '.join(got) or '(none)'}")
    if deployment and reply.status and reply.deployment != deployment:
        problems.append(f"answered by '{reply.deployment}', not the requested deployment '{deployment}'")
    return RequestCheck(name, reply.status, reply.deployment, reply.seconds, tuple(problems))


def sample_requests(path: Path, shown: str) -> list[tuple[str, Any]]:
    """(name, inputs) of each request in a TEST_FILE_PATH file: one JSON object of flow inputs, or a list."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise LlmopsError(f"TEST_FILE_PATH '{shown}' not found at {path}; point it at a JSON file of flow inputs "
                          "(sample-request.json)") from error
    except json.JSONDecodeError as error:
        raise LlmopsError(f"TEST_FILE_PATH '{shown}' is not JSON ({error}); write the flow inputs as a JSON "
                          "object") from error
    if isinstance(data, list):
        return [(f"{Path(shown).name}[{i}]", item) for i, item in enumerate(data)]
    return [(Path(shown).name, data)]
