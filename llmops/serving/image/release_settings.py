"""What the platform says the image's server serves: LLMOPS_MODEL and LLMOPS_VARIANT, set by a cloud target.

A cloud target (Azure ML online deployment, web app slot; backends/targets.py release_variables) sets them on the
deployment beside the user's ENVIRONMENT_VARIABLES. The image holds one model version's snapshot and serves it with
the variant its llmops-image.json names; the variables override that:
- LLMOPS_VARIANT (`{"node": "variant_id"}`) picks the variant served, each node and id checked against the flow in
  the image, so a deployment asked to serve a variant the snapshot lacks stops at start instead of answering wrong.
- LLMOPS_MODEL (`<name>:<version>`) must name the image's own model version: an image cannot serve another
  snapshot, and serving the wrong one silently is what this check prevents (the deployment fails to provision).
Neither set: the image's own choice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from llmops.backends.targets import LABEL_VARIABLE, MODEL_VARIABLE, VARIANT_VARIABLE
from llmops.config.flow_base import Flow
from llmops.config.variants import label
from llmops.errors import LlmopsError
from llmops.serving.image.entry import ImageEntry


@dataclass(frozen=True)
class ServedRelease:
    variant: dict[str, str]
    variant_label: str
    source: str  # said in the server's start line: where the variant came from


def _check_model(entry: ImageEntry, value: str) -> None:
    name, _, version = value.strip().rpartition(":")
    if not name or not version.isdigit():
        raise LlmopsError(f"{MODEL_VARIABLE}='{value}' is not <model name>:<version> (for example "
                          f"{entry.model_name}:{entry.model_version}); fix the deployment's environment")
    if (name, int(version)) != (entry.model_name, entry.model_version):
        raise LlmopsError(f"{MODEL_VARIABLE} asks for model {name} version {version}, but this image holds model "
                          f"{entry.model_name} version {entry.model_version}; deploy the image of version {version} "
                          f"(llmops image build --use-case {entry.use_case} --env {entry.env} --model-version "
                          f"{version} --push)")


def _variant(value: str, flow: Flow, flow_name: str) -> dict[str, str]:
    try:
        data = json.loads(value)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise LlmopsError(f"{VARIANT_VARIABLE}='{value}' is not a JSON object of node -> variant id (for example "
                          f"{json.dumps(flow.default_variants())}); fix the deployment's environment")
    options = flow.variants()
    unknown = [f"{node}.{vid}" for node, vid in sorted(data.items()) if vid not in options.get(str(node), [])]
    if unknown:
        valid = ", ".join(f"{node}.{vid}" for node, ids in sorted(options.items()) for vid in ids) or "none"
        raise LlmopsError(f"{VARIANT_VARIABLE} names {', '.join(unknown)}, which flow {flow_name} in this image does "
                          f"not have (valid: {valid})")
    return {**flow.default_variants(), **{str(k): v for k, v in data.items()}}


def served_release(entry: ImageEntry, flow: Flow, environ: Mapping[str, str]) -> ServedRelease:
    """The variant to serve, after checking LLMOPS_MODEL against the image; raises LlmopsError naming the variable."""
    if environ.get(MODEL_VARIABLE, "").strip():
        _check_model(entry, environ[MODEL_VARIABLE])
    value = environ.get(VARIANT_VARIABLE, "").strip()
    if not value:
        return ServedRelease(dict(entry.variant), entry.variant_label, "the image's llmops-image.json")
    variant = _variant(value, flow, entry.flow)
    given = environ.get(LABEL_VARIABLE, "").strip()
    return ServedRelease(variant, given or label(variant, flow.default_variants()), VARIANT_VARIABLE)
