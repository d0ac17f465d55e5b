"""Provider profiles (configs/providers.json) and the choice of upstream for each connection."""

from __future__ import annotations

from dataclasses import dataclass

from llmops.errors import LlmopsError, UsageError
from llmops.llm.connections import SAMPLE_LINE, Connection

PROFILES = ("azure_openai", "openai", "openai_compatible", "embedded", "replay")
# Deterministic in-process answers at a fixed latency: selectable from the Python API by tests and
# benchmarks only, never offered on the command line.
TEST_ONLY_PROFILES = ("simulated",)
OPENAI_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Use:
    """Where the calls of one flow node go."""

    flow: str
    node: str
    connection: str


@dataclass(frozen=True)
class Choice:
    connection: str
    profile: str  # one of PROFILES
    reason: str


def check_profile(name: str) -> str:
    if name not in (*PROFILES, "auto"):
        raise UsageError(f"unknown provider '{name}'; valid: auto, {', '.join(PROFILES)}")
    return name


def choose(uses: list[Use], connections: dict[str, Connection], requested: str) -> dict[str, Choice]:
    """One profile per connection the flows name. `auto` uses the .env key when there is one, else embedded."""
    if requested not in TEST_ONLY_PROFILES:
        check_profile(requested)
    choices: dict[str, Choice] = {}
    for use in uses:
        if use.connection in choices:
            continue
        conn = connections.get(use.connection)
        if requested == "auto":
            if conn is None or not conn.api_key:
                choices[use.connection] = Choice(use.connection, "embedded",
                                                 f"no key for connection '{use.connection}' in .env")
            elif conn.api_type == "azure":
                choices[use.connection] = Choice(use.connection, "azure_openai", ".env")
            else:
                profile = "openai_compatible" if conn.base_url else "openai"
                choices[use.connection] = Choice(use.connection, profile, ".env")
            continue
        if requested in ("azure_openai", "openai", "openai_compatible") and conn is None:
            raise LlmopsError(
                f"flow '{use.flow}', node '{use.node}' uses connection '{use.connection}', which is not defined; "
                f"add this line to .env (see .env.sample): {SAMPLE_LINE.format(name=use.connection)}"
            )
        if requested == "openai_compatible" and conn is not None and not conn.base_url:
            raise LlmopsError(f"{conn.source}: {use.connection}.base_url: the openai_compatible provider needs the "
                              "server's base_url, e.g. \"base_url\": \"http://127.0.0.1:8000/v1\"")
        choices[use.connection] = Choice(use.connection, requested, "--provider or PROVIDER in llmops_config.json")
    return choices
