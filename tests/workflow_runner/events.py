"""Events that start a workflow, with the payload fields the workflows read (as GitHub's webhooks carry them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_REPOSITORY = "example-org/llmops"
DEFAULT_SHA = "0" * 40


@dataclass(frozen=True)
class Event:
    name: str
    payload: dict[str, Any]
    ref: str
    sha: str = DEFAULT_SHA
    head_ref: str = ""
    base_ref: str = ""
    repository: str = DEFAULT_REPOSITORY
    inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def ref_name(self) -> str:
        if self.ref.startswith("refs/pull/"):
            return self.ref.removeprefix("refs/pull/")  # GitHub names it '<number>/merge'
        return self.ref.split("/", 2)[-1]

    @property
    def pull_request_number(self) -> int | None:
        number = (self.payload.get("pull_request") or {}).get("number")
        return int(number) if number is not None else None


def _repo(full_name: str) -> dict[str, Any]:
    owner, name = full_name.split("/", 1)
    return {"full_name": full_name, "name": name, "owner": {"login": owner}, "fork": False}


def pull_request(number: int = 1, base: str = "development", head: str = "feature/change",
                 head_repository: str = DEFAULT_REPOSITORY, title: str = "A change",
                 repository: str = DEFAULT_REPOSITORY) -> Event:
    """A `pull_request` (opened) from `head_repository` (another name means a fork) into `base`."""
    payload = {
        "action": "opened",
        "number": number,
        "pull_request": {
            "number": number, "title": title,
            "head": {"ref": head, "sha": "1" * 40, "repo": {**_repo(head_repository),
                                                            "fork": head_repository != repository}},
            "base": {"ref": base, "sha": DEFAULT_SHA, "repo": _repo(repository)},
        },
        "repository": _repo(repository),
    }
    return Event("pull_request", payload, ref=f"refs/pull/{number}/merge", sha="2" * 40, head_ref=head,
                 base_ref=base, repository=repository)


def push(branch: str = "development", repository: str = DEFAULT_REPOSITORY) -> Event:
    payload = {"ref": f"refs/heads/{branch}", "after": DEFAULT_SHA, "repository": _repo(repository)}
    return Event("push", payload, ref=f"refs/heads/{branch}", repository=repository)


def workflow_dispatch(inputs: dict[str, Any] | None = None, branch: str = "development",
                      repository: str = DEFAULT_REPOSITORY) -> Event:
    given = dict(inputs or {})
    payload = {"inputs": given, "ref": f"refs/heads/{branch}", "repository": _repo(repository)}
    return Event("workflow_dispatch", payload, ref=f"refs/heads/{branch}", repository=repository, inputs=given)


def workflow_call(inputs: dict[str, Any] | None = None, branch: str = "development",
                  repository: str = DEFAULT_REPOSITORY) -> Event:
    """A reusable workflow run by itself with the inputs a caller's `with:` would give. On GitHub its jobs see the
    caller's event; here the event is named workflow_call (so the runner takes the declared inputs), its payload a
    push's."""
    given = dict(inputs or {})
    payload = {"ref": f"refs/heads/{branch}", "after": DEFAULT_SHA, "repository": _repo(repository)}
    return Event("workflow_call", payload, ref=f"refs/heads/{branch}", repository=repository, inputs=given)
