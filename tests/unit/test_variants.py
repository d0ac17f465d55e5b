"""Variant enumeration: each, grid, defaults, explicit lists, duplicates, unknown names."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops.config.flow_dag import FlowDag
from llmops.config.variants import enumerate_variants, label
from llmops.errors import NotFoundError, UsageError


def flow(**nodes: list[str]) -> FlowDag:
    variants = {n: {"default_variant_id": ids[0], "variants": {i: {"node": {}} for i in ids}}
                for n, ids in nodes.items()}
    return FlowDag(folder=Path("f"), file=Path("f/flow.dag.yaml"), inputs={}, outputs={}, nodes=[],
                   node_variants=variants)


TWO_NODES = flow(summarize=["v0", "v1"], classify=["v0", "v1", "v2"])
D = {"summarize": "v0", "classify": "v0"}

CASES = [
    ("each", TWO_NODES, "each", [D, {**D, "summarize": "v1"}, {**D, "classify": "v1"}, {**D, "classify": "v2"}]),
    ("defaults", TWO_NODES, "defaults", [D]),
    ("grid", TWO_NODES, "grid", [D] + [{"summarize": s, "classify": c} for s in ("v0", "v1")
                                        for c in ("v0", "v1", "v2") if (s, c) != ("v0", "v0")]),
    ("explicit list", TWO_NODES, "classify.v2,summarize.v1", [D, {**D, "classify": "v2"}, {**D, "summarize": "v1"}]),
    ("explicit combination", TWO_NODES, "classify.v2+summarize.v1", [D, {"classify": "v2", "summarize": "v1"}]),
    ("duplicates skipped", TWO_NODES, "classify.v1,classify.v1,classify.v0", [D, {**D, "classify": "v1"}]),
    ("no variants", flow(), "each", [{}]),
]


@pytest.mark.parametrize("name,dag,spec,expected", CASES, ids=[c[0] for c in CASES])
def test_enumerate(name: str, dag: FlowDag, spec: str, expected: list[dict[str, str]]) -> None:
    assert enumerate_variants(dag, spec) == expected


@pytest.mark.parametrize("spec,error,message", [
    ("classify.v9", NotFoundError, "unknown variant of node 'classify' 'v9'; valid: v0, v1, v2"),
    ("summarise.v1", NotFoundError, "unknown node with variants 'summarise'; valid: classify, summarize"),
    ("everything", UsageError, "unknown --variants value 'everything'; valid: each, grid, defaults, or a list of "
                               "node.variant items such as summarize.variant_1,classify.variant_1"),
])
def test_bad_spec(spec: str, error: type, message: str) -> None:
    with pytest.raises(error) as caught:
        enumerate_variants(TWO_NODES, spec)
    assert str(caught.value) == message


def test_grid_refused_past_budget() -> None:
    with pytest.raises(UsageError) as caught:
        enumerate_variants(TWO_NODES, "grid", max_runs=4)
    assert str(caught.value) == ("--variants grid needs 6 runs per dataset, more than --max-runs 4; raise "
                                 "--max-runs to 6 or choose fewer variants")


def test_labels() -> None:
    assert label(D, D) == "defaults"
    assert label({"summarize": "v1", "classify": "v2"}, D) == "classify.v2+summarize.v1"
