"""Construction errors of the gateway's dataclasses and of Gateway itself: exact text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmops.errors import ConfigError, NotFoundError, UsageError
from llmops.llm.gateway import FaultPlan, Gateway, Tag, Upstream, UpstreamKind


def test_upstream_reports_every_problem() -> None:
    with pytest.raises(ConfigError) as raised:
        Upstream("aoai-prod", "bedrock", base_url="contoso.openai.azure.com", max_concurrency=0)
    assert raised.value.problems == [
        "upstream 'aoai-prod': kind: unknown value 'bedrock'; valid: azure, openai, simulated",
        "upstream 'aoai-prod': base_url: 'contoso.openai.azure.com' is not an http(s) URL; "
        "give the service root, e.g. https://contoso.openai.azure.com or http://127.0.0.1:8080/v1",
        "upstream 'aoai-prod': max_concurrency: 0 must be at least 1",
    ]


def test_upstream_kind_is_normalised_and_the_key_is_not_in_its_repr() -> None:
    upstream = Upstream("u", "openai", "http://127.0.0.1:8080/v1", api_key="sk-do-not-print")
    assert upstream.kind is UpstreamKind.OPENAI
    assert "sk-do-not-print" not in repr(upstream)
    assert Upstream("s", "simulated").base_url == ""  # simulated needs no address


def test_fault_plan_problems() -> None:
    with pytest.raises(ConfigError) as raised:
        FaultPlan(rate_limit_share=0.7, server_error_share=0.6, script=("429", "503"))
    assert raised.value.problems == [
        "fault plan: rate_limit_share + server_error_share + timeout_share must not exceed 1",
        "fault plan: script: unknown fault '503'; valid: ok, 429, 500, timeout",
    ]


GATEWAY_MISUSE: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"mode": "rewind"}, UsageError, "unknown gateway mode 'rewind'; valid: live, record, refresh, replay"),
    (
        {"mode": "replay"},
        UsageError,
        "gateway mode 'replay' needs a cassette directory; pass cassette_dir (use_cases/<name>/cassettes/)",
    ),
    (
        {"mode": "record"},
        UsageError,
        "gateway mode 'record' needs a cassette directory; pass cassette_dir (use_cases/<name>/cassettes/)",
    ),
]


@pytest.mark.parametrize(("options", "error", "message"), GATEWAY_MISUSE)
def test_gateway_options_are_checked(options: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as raised:
        Gateway({}, **options)
    assert str(raised.value) == message


def test_routes_need_a_running_gateway_a_known_connection_and_kind() -> None:
    gateway = Gateway({"aoai": Upstream("sim", "simulated")})
    with pytest.raises(UsageError) as not_running:
        gateway.route("aoai", "azure", Tag())
    with gateway:
        with pytest.raises(NotFoundError) as unknown_connection:
            gateway.route("gpt4", "azure", Tag())
        with pytest.raises(UsageError) as unknown_kind:
            gateway.route("aoai", "anthropic", Tag())
        with pytest.raises(UsageError) as no_accounting:
            gateway.run_totals("r")
        azure = gateway.route("aoai", "azure", Tag(run="r", node="n"))
        openai = gateway.route("aoai", "openai", Tag(run="r", node="n"))
    assert str(not_running.value) == "the LLM gateway is not running; call start() or use it in a with block"
    assert str(unknown_connection.value) == (
        "unknown gateway connection 'gpt4'; valid: aoai. add an Upstream for it to Gateway(upstreams=...)"
    )
    assert str(unknown_kind.value) == "unknown connection kind 'anthropic'; valid: azure, openai"
    assert str(no_accounting.value) == "this gateway keeps no accounting; pass accounting_path to Gateway(...)"
    assert azure.startswith("http://127.0.0.1:") and openai == f"{azure}/v1"
    assert len(azure.rsplit("/x/", 1)[1]) == 16


def test_replay_mode_routes_connections_without_upstreams(tmp_path: Path) -> None:
    with Gateway({}, mode="replay", cassette_dir=tmp_path) as gateway:
        assert "/x/" in gateway.route("any-connection", "azure", Tag())
