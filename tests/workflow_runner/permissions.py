"""GITHUB_TOKEN permissions as GitHub resolves them, including the rule for reusable workflows: a job in a
called workflow may only keep or lower what the calling job grants (GitHub refuses the run otherwise)."""

from __future__ import annotations

from typing import Any

from llmops.errors import ConfigError

SCOPES = ("actions", "attestations", "checks", "contents", "deployments", "discussions", "id-token", "issues",
          "models", "packages", "pages", "pull-requests", "repository-projects", "security-events", "statuses")
LEVELS = {"none": 0, "read": 1, "write": 2}
# What a repository created today grants when a workflow says nothing ("restricted" default setting).
RESTRICTED_DEFAULT = {**dict.fromkeys(SCOPES, "none"), "contents": "read", "packages": "read"}

Permissions = dict[str, str]


def parse(value: Any, where: str) -> Permissions | None:
    """`permissions:` as written (None when absent) -> a level for every scope."""
    if value is None:
        return None
    if isinstance(value, str):
        if value in ("read-all", "write-all"):
            level = value.split("-")[0]
            return {s: ("write" if s == "id-token" and level == "write" else "none" if s == "id-token" else level)
                    for s in SCOPES}
        raise ConfigError([f"{where}: permissions: '{value}' is not valid; use read-all, write-all or a mapping"])
    granted = dict.fromkeys(SCOPES, "none")
    for scope, level in dict(value).items():
        if scope not in SCOPES:
            raise ConfigError([f"{where}: permissions.{scope}: unknown scope; valid: {', '.join(SCOPES)}"])
        if level not in LEVELS:
            raise ConfigError([f"{where}: permissions.{scope}: '{level}' is not valid; use read, write or none"])
        granted[scope] = str(level)
    return granted


def effective(job_value: Any, workflow_value: Any, inherited: Permissions | None, where: str) -> Permissions:
    """The job's own grant, else its workflow's, else what the caller passes down, else the default."""
    return (parse(job_value, where) or parse(workflow_value, where) or inherited or dict(RESTRICTED_DEFAULT))


def check_within(nested: Permissions, allowed: Permissions, job: str) -> None:
    for scope in SCOPES:
        if LEVELS[nested[scope]] > LEVELS[allowed[scope]]:
            raise ConfigError([f"the nested job '{job}' is requesting '{scope}: {nested[scope]}', but is only "
                               f"allowed '{scope}: {allowed[scope]}'; grant it on the calling job"])


def granted(permissions: Permissions) -> Permissions:
    """Only the scopes above none, for reading in results and tests."""
    return {scope: level for scope, level in permissions.items() if level != "none"}
