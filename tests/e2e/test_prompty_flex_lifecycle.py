"""A `.prompty` standard flow (with a sibling variant) and two flex evaluations through the lifecycle, as a user
runs it against a provider (a loopback upstream named in `.env`): `llmops run`, `register-model`, `endpoint up`,
`deploy --target local` and `test-endpoint`. Record and replay of the same flows: test_prompty_flex_engine.py."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from llmops.backends.local.registry import models as model_registry
from llmops.serving import process
from llmops.serving.client import score
from tests.support.cli import Done
from tests.support.cli import llmops_process as llmops  # each command a process, as a user runs it
from tests.support.prompty_use_case import (
    AOAI_KEY,
    DEFAULT_KEY,
    NAME,
    PromptAnsweringUpstream,
    write_env,
    write_prompty_use_case,
)

pytestmark = pytest.mark.timeout(300)
UC = ("-u", NAME, "-e", "dev")


@dataclass
class Lifecycle:
    repo: Path
    upstream_calls: int
    ran: Done
    registered: Done
    deployed: Done
    tested: Done
    scored: dict[str, object]
    reregistered: Done


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lifecycle]:
    repo = tmp_path_factory.mktemp("prompty")
    write_prompty_use_case(repo)
    with PromptAnsweringUpstream() as upstream:
        write_env(repo, upstream)
        ran = llmops(repo, "run", *UC)
        upstream_calls = len(upstream.requests)
        registered = llmops(repo, "register-model", *UC)
        started = llmops(repo, "endpoint", "up", *UC)
        assert started.code == 0, started.err[-3000:]
        try:
            deployed = llmops(repo, "deploy", *UC, "--target", "local")
            tested = llmops(repo, "test-endpoint", *UC, "--lines", "2")
            info = process.running(repo / ".llmops", "prompty-uc")
            assert info is not None
            reply = score(info.scoring_url, {"url": "https://example.com/b"})
            scored = {"status": reply.status, "body": reply.body, "deployment": reply.deployment}
        finally:
            process.stop(repo / ".llmops", "prompty-uc")
    # A prompty's variant is part of the flow: editing it is a new model version.
    brief = repo / f"use_cases/{NAME}/flows/classify/classify_brief.prompty"
    brief.write_text(brief.read_text().replace("App or None?", "App, or None?"))
    reregistered = llmops(repo, "register-model", *UC)
    yield Lifecycle(repo, upstream_calls, ran, registered, deployed, tested, scored, reregistered)


def test_the_run_evaluates_both_variants_with_flex_flows(lifecycle: Lifecycle) -> None:
    assert lifecycle.ran.code == 0, lifecycle.ran.err[-3000:]
    lines = lifecycle.ran.out.splitlines()
    for label in ("defaults", "classify.classify_brief"):
        assert any(line.startswith(f"prompty_uc_dev_{label}_urls_dev_") and "4 lines, 0 failed" in line
                   for line in lines), lifecycle.ran.out
        for metric in ("judge_score=5.000", "accuracy=0.750"):
            assert any(f"_{label}." in line and metric in line for line in lines), lifecycle.ran.out
    assert "gate accuracy >= 0.5 on defaults: 0.75 -> pass" in lifecycle.ran.out


def test_every_call_went_through_the_gateway(lifecycle: Lifecycle) -> None:
    with sqlite3.connect(lifecycle.repo / ".llmops/llm_calls.sqlite") as db:
        query = "select flow, node, connection, cache, count(*) from llm_calls group by 1, 2, 3, 4"
        rows = db.execute(query).fetchall()
    by_node = {(flow, node, connection) for flow, node, connection, _, _ in rows}
    assert by_node == {("classify", "classify", "default"), ("classify", "classify_brief", "default"),
                       ("judge", "model_config", "aoai"), ("grade", "environment", "default")}
    called = sum(n for *_, cache, n in rows if cache == "miss")
    assert called == lifecycle.upstream_calls  # the rest were answered from the cache (the same prompts)
    assert {cache for *_, cache, _ in rows} == {"miss", "hit"}


def test_no_key_is_written_anywhere(lifecycle: Lifecycle) -> None:
    for folder in (".llmops", "reports", f"use_cases/{NAME}"):
        for path in (lifecycle.repo / folder).rglob("*"):
            if path.is_file() and path.suffix != ".sqlite":
                text = path.read_bytes()
                assert AOAI_KEY.encode() not in text and DEFAULT_KEY.encode() not in text, path
    with sqlite3.connect(lifecycle.repo / ".llmops/llm_cache.sqlite") as db:
        dump = "\n".join(db.iterdump())
    assert AOAI_KEY not in dump and DEFAULT_KEY not in dump


def test_the_prompty_is_registered_with_its_variants_and_served(lifecycle: Lifecycle) -> None:
    assert lifecycle.registered.code == 0, lifecycle.registered.err
    assert "model prompty_uc_dev: registered version 1" in lifecycle.registered.out
    model = model_registry.get(lifecycle.repo / ".llmops", "prompty_uc_dev", 1)
    assert (model.lineage["flow_file"], model.lineage["flow_variants"]) == ("classify.prompty",
                                                                           ["classify_brief.prompty"])
    assert sorted(p.name for p in model.snapshot.iterdir()) == ["classify.prompty", "classify_brief.prompty"]
    assert lifecycle.deployed.code == 0, lifecycle.deployed.err[-3000:]
    assert "smoke test sample-request.json: status 200 on blue" in lifecycle.deployed.out
    assert lifecycle.tested.code == 0 and "3 of 3 requests ok" in lifecycle.tested.out, lifecycle.tested.err
    assert lifecycle.scored == {"status": 200, "body": {"output": "None"}, "deployment": "blue"}
    assert "registered version 2" in lifecycle.reregistered.out
