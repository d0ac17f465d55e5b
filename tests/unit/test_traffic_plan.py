"""The traffic map a deploy ends with, from the env's local_endpoint block."""

from __future__ import annotations

from typing import Any

import pytest

from llmops.backends.traffic import Split
from llmops.config.deployment_config import LocalEndpoint
from llmops.errors import LlmopsError
from llmops.serving.deploy_plan import plan_split


def block(**fields: Any) -> LocalEndpoint:
    base = {"ENV_NAME": "dev", "ENDPOINT_NAME": "web", "CURRENT_DEPLOYMENT_NAME": "green",
            "CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION": "10", "PRIOR_DEPLOYMENT_NAME": "blue",
            "PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION": "90"}
    return LocalEndpoint(**{**base, **fields})


@pytest.mark.parametrize(("config", "existing", "split", "notes"), [
    ({}, ["blue"], Split({"blue": 90, "green": 10}), []),
    ({}, [], Split({"green": 100}),
     ["prior deployment 'blue' does not exist yet: 'green' takes 100% of traffic (configured 10%)"]),
    ({"PRIOR_DEPLOYMENT_NAME": "", "PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION": "",
      "CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION": "100"}, ["blue"], Split({"green": 100, "blue": 0}), []),
    ({}, ["blue", "green", "red"], Split({"blue": 90, "green": 10, "red": 0}), []),
    ({"CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION": "0", "PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION": "100",
      "MIRROR_TRAFFIC_ALLOCATION": "20"}, ["blue"], Split({"blue": 100, "green": 0}, {"green": 20}), []),
    ({"CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION": "0", "PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION": "100",
      "MIRROR_TRAFFIC_ALLOCATION": "20"}, [], Split({"green": 100}),
     ["prior deployment 'blue' does not exist yet: 'green' takes 100% of traffic (configured 0%)",
      "MIRROR_TRAFFIC_ALLOCATION 20% not applied: 'green' takes live traffic, and a mirror only goes to a "
      "deployment that takes none"]),
])
def test_plan_split(config: dict[str, str], existing: list[str], split: Split, notes: list[str]) -> None:
    assert plan_split(block(**config), existing) == (split, notes)


def test_same_name_for_current_and_prior_is_refused() -> None:
    with pytest.raises(LlmopsError) as caught:
        plan_split(block(PRIOR_DEPLOYMENT_NAME="green"), ["green"])
    assert str(caught.value) == ("deployment_config.json: local_endpoint for env 'dev' names 'green' as both "
                                 "CURRENT_DEPLOYMENT_NAME and PRIOR_DEPLOYMENT_NAME; give them different names")
