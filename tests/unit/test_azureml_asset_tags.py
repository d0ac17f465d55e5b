"""What a model version registered in Azure ML carries in its tags: the key facts of its lineage, each short."""

from __future__ import annotations

from typing import Any

import pytest

from llmops.backends.azureml.asset_tags import TAG_LIMIT, tag
from llmops.backends.azureml.model_assets import model_tags

SHA = "ab" * 32
LINEAGE: dict[str, Any] = {
    "use_case": "web_classification", "env": "dev", "flow": "web_classification", "flow_path": "flows/experiment",
    "git": {"commit": "c0ffee" * 6 + "0000", "dirty": False},
    "data": [{"name": "web_dev", "version": 3}, {"name": "web_dev_test", "version": 1}],
    "experiment_runs": ["r1", "r2", "r3"], "evaluation_runs": ["e1", "e2", "e3"],
    "variant": {"summarize_text_content": "variant_1"}, "variant_label": "summarize_text_content.variant_1",
    "variant_source": "report", "metrics": {"accuracy": 0.8333333, "lines": 12}, "report": "reports/x",
}


@pytest.mark.parametrize(("lineage", "expected"), [
    (LINEAGE, {"sha256": SHA, "use_case": "web_classification", "env": "dev", "flow": "web_classification",
               "git_commit": "c0ffee" * 6 + "0000", "git_dirty": "false", "variant": "summarize_text_content.variant_1",
               "data": "web_dev:3,web_dev_test:1", "runs": "3 experiment, 3 evaluation",
               "metrics": "accuracy=0.8333,lines=12"}),
    # no experiment yet, outside a git repository: only what is known
    ({"use_case": "mini", "env": "pr", "flow": "standard", "git": {"commit": None, "dirty": None},
      "data": [], "experiment_runs": [], "evaluation_runs": [], "variant_label": "defaults", "metrics": {}},
     {"sha256": SHA, "use_case": "mini", "env": "pr", "flow": "standard", "variant": "defaults",
      "runs": "0 experiment, 0 evaluation"}),
])
def test_a_model_version_is_tagged_with_the_key_facts_of_its_lineage(lineage, expected):
    assert model_tags(SHA, lineage) == expected


def test_a_fact_longer_than_a_tag_takes_is_cut_and_marked():
    many = {**LINEAGE, "data": [{"name": f"dataset_{i:03d}", "version": 1} for i in range(40)]}
    data = model_tags(SHA, many)["data"]
    assert len(data) == TAG_LIMIT and data.endswith("...") and data.startswith("dataset_000:1,dataset_001:1")
    assert tag("x" * TAG_LIMIT) == "x" * TAG_LIMIT
