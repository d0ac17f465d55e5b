"""The error hierarchy. Every message names the thing, quotes the value and says what to do.

Exit codes (documented in the README): 0 ok, 1 user or config error, 2 usage, 3 quality gate failed.
"""

from __future__ import annotations

from collections.abc import Sequence

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_GATE_FAILED = 3


class LlmopsError(Exception):
    """A problem the user can fix; rendered once by the CLI without a traceback."""

    exit_code = EXIT_USER_ERROR


class UsageError(LlmopsError):
    """The command line itself is wrong (unknown option value, missing argument)."""

    exit_code = EXIT_USAGE


class ConfigError(LlmopsError):
    """One or more problems in use-case files; each problem is one line `<file>: <key path>: <problem>`."""

    def __init__(self, problems: Sequence[object]) -> None:
        # Each item prints as one line: a str, or a llmops.config.problems.Problem (which config, below
        # this module, cannot name here).
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class NotFoundError(LlmopsError):
    """A named thing (use case, env, dataset, model, deployment) does not exist."""


class StepFailed(LlmopsError):
    """A lifecycle step ran but its outcome is a failure (too many failed lines, smoke test failed)."""


class JobCanceled(LlmopsError):
    """A job the user asked to cancel (--cancel) was canceled: the command's work ends there, as asked."""

    exit_code = EXIT_OK


class NothingNew(LlmopsError):
    """A step found no new input to work on (every production log segment evaluated before): said, exit 0."""

    exit_code = EXIT_OK


class GateFailed(LlmopsError):
    """A quality gate from llmops_config.json was not met."""

    exit_code = EXIT_GATE_FAILED


def unknown_name(kind: str, value: str, valid: list[str] | tuple[str, ...], hint: str = "") -> NotFoundError:
    """Build the standard 'unknown X' error that lists the valid names."""
    listed = ", ".join(sorted(valid)) if valid else "(none)"
    message = f"unknown {kind} '{value}'; valid: {listed}"
    if hint:
        message += f". {hint}"
    return NotFoundError(message)
