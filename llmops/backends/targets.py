"""Deployment targets: where a release of a model version is served, behind one small protocol.

The A/B rules (a new deployment at 0%, a smoke test on it alone, then the configured split; a
release into the deployment that serves users refused; the previous map kept for rollback; old
deployments at 0% cleaned up) are written once, in llmops/serving/release.py, against this
protocol. A target only says how to do each primitive on its platform: the local endpoint server
(serving/local_target.py), an Azure ML managed or Kubernetes online endpoint
(backends/azureml/online/), and a web app whose two slots are its deployments (backends/azureml/webapp/).

Every target keeps the history of its traffic maps where the endpoint lives, so `endpoint rollback`
run on another machine (a CI runner, a laptop) finds the map to restore.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from llmops.backends.endpoints import Deployment, Endpoint, TrafficMap
from llmops.backends.traffic import Split
from llmops.backends.types import ModelVersion
from llmops.config.deployment_config import DEPLOYMENT_TARGETS

# A target's name is its block's key in deployment_config.json without the "_endpoint" suffix (config_key), as
# `--target`, the CD workflow's target input and DEPLOYMENT_TARGETS spell it.
LOCAL, AZURE_MANAGED, KUBERNETES, WEBAPP = DEPLOYMENT_TARGETS
AZURE_ML_TARGETS = (AZURE_MANAGED, KUBERNETES)


def config_key(kind: str) -> str:
    """The target's key in deployment_config.json: local -> local_endpoint."""
    return f"{kind}_endpoint"


# Variables llmops sets for the endpoint server in an image; ENVIRONMENT_VARIABLES are the user's.
RELEASE_PREFIX = "LLMOPS_"
# What the image's server reads of them (llmops/serving/image/release_settings.py): `<model>:<version>`, and the
# variant as compact JSON (node -> variant id), and the variant's label where a target sets one (a web app).
MODEL_VARIABLE, VARIANT_VARIABLE, LABEL_VARIABLE = "LLMOPS_MODEL", "LLMOPS_VARIANT", "LLMOPS_VARIANT_LABEL"


def release_variables(deployment: Deployment) -> dict[str, str]:
    """What a cloud target tells the endpoint server in the image about its release, beside the user's variables:
    the model version and the variant (the image serves the variant registered with the model, the one deploy
    chooses for an image target)."""
    return {MODEL_VARIABLE: f"{deployment.model_name}:{deployment.model_version}",
            VARIANT_VARIABLE: json.dumps(deployment.variant, sort_keys=True, separators=(",", ":"))}


# The content digest of a model version's serving image, which its tag is made of (serving_image.image_name). Given to
# a cloud target by the one that opens it (serving/targets.py: llmops/serving/image/plan.py's planned_digest), so
# the target names the image `llmops image build` made of that version.
ImageDigest = Callable[[ModelVersion], str]


# Every request llmops itself sends to an endpoint to test it (a release's smoke test, test-endpoint, a canary watch's
# shadow requests) carries this header, on every target; the endpoint server marks its log entry `"probe": true`,
# so post-production evaluation and canary watches never take it for user traffic. A user's request that forces
# a deployment (the azureml-model-deployment header) without it is traffic like any other.
PROBE_HEADER, PROBE_VALUE = "x-llmops-probe", "1"
# Azure ML's header that sends a request to one deployment, whatever the traffic map; every target's server answers
# with it too, naming the deployment that served.
DEPLOYMENT_HEADER = "azureml-model-deployment"
# The id every answer carries (its log entry's request_id): how a failed request is looked up in the server log.
REQUEST_ID_HEADER = "x-request-id"


@dataclass(frozen=True)
class ScoringReply:
    """One answer of a scoring URL, as a smoke test reads it."""

    status: int
    deployment: str | None  # from the azureml-model-deployment response header
    body: Any
    seconds: float
    request_id: str | None = None

    @property
    def error_message(self) -> str:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return str(self.body["error"].get("message", ""))
        if isinstance(self.body, dict) and isinstance(self.body.get("message"), str):
            return str(self.body["message"])
        return ""


class DeploymentTarget(Protocol):
    """One endpoint on one platform: its deployments, its traffic map (live and mirror) and their history."""

    @property
    def kind(self) -> str:
        """local, azure_managed, kubernetes or webapp (DEPLOYMENT_TARGETS)."""
        ...

    @property
    def endpoint(self) -> str:
        """The endpoint's name."""
        ...

    @property
    def removes_failed_release(self) -> bool:
        """Whether a release that failed its smoke test is removed (local: free to make again) or kept at 0%
        (a cloud deployment keeps its logs for the user to read, and the next deploy updates it in place)."""
        ...

    def deployment_name(self, model: ModelVersion) -> str:
        """The deployment a release of `model` goes to: the block's CURRENT_DEPLOYMENT_NAME; a web app's release is
        named by its image's tag, which its slot shows."""
        ...

    def scoring_url(self) -> str:
        """Where users send requests: the endpoint's scoring URL, routed by the traffic map."""
        ...

    def check(self) -> None:
        """What must hold before a release starts, checked without changing anything (the local server runs, the
        block names what its platform needs)."""
        ...

    def open(self) -> tuple[Endpoint, list[str]]:
        """The endpoint, created when missing (with its identity's roles), as one consistent state; and notes
        for the user (a role that could not be granted, ...)."""
        ...

    def state(self) -> Endpoint:
        """The endpoint as it is now: deployments and the current traffic map."""
        ...

    def put_deployment(self, deployment: Deployment, model: ModelVersion) -> Deployment:
        """Create the deployment at 0% (or keep it, when it already runs this release), and wait until it can take
        requests. A deployment that takes traffic gets no other release: DeploymentInUse, before anything changed.
        A deployment that fails to provision raises, naming why; traffic is untouched."""
        ...

    def score(self, deployment: str | None, inputs: Any) -> ScoringReply:
        """Send one request to that deployment alone (the azureml-model-deployment header; a web app's slot URL), or
        with None as users do (routed by the map), with the endpoint's key, marked as a probe (PROBE_HEADER): every
        caller is llmops testing the endpoint. An unreachable endpoint is a reply of status 0 whose body says why."""
        ...

    def failure_detail(self, reply: ScoringReply) -> str | None:
        """Where to read more about a failed request (a server.log line, the command that shows the logs)."""
        ...

    def set_split(self, split: Split, reason: str) -> TrafficMap:
        """Make `split` the current map (validated as a whole first) and add it to the history."""
        ...

    def remove_deployment(self, name: str) -> None:
        """Delete a deployment that takes no traffic."""
        ...

    def rollback(self) -> tuple[TrafficMap, TrafficMap]:
        """Make the previous map current again; returns (the map rolled back, the map restored)."""
        ...

    def history(self) -> list[TrafficMap]:
        """Every map kept, oldest first, rolled back ones marked."""
        ...
