"""The traffic map a deploy ends with, from the env's endpoint block (any online target) and the deployments
that exist."""

from __future__ import annotations

from collections.abc import Collection

from llmops.backends.traffic import Split
from llmops.config.deployment_config import OnlineEndpoint
from llmops.errors import LlmopsError


def plan_split(block: OnlineEndpoint, existing: Collection[str],
               target: str = "local_endpoint") -> tuple[Split, list[str]]:
    """(the map to set once the current deployment passed its smoke test, notes to tell the user).

    `existing` are the endpoint's deployments before this deploy. The prior keeps its configured share
    when it exists; a first deploy (no prior yet) gives the current 100. Other deployments stay, at 0.
    """
    current, prior = block.CURRENT_DEPLOYMENT_NAME, block.PRIOR_DEPLOYMENT_NAME
    if prior and prior == current:
        raise LlmopsError(f"deployment_config.json: {target} for env '{block.ENV_NAME}' names '{current}' as "
                          "both CURRENT_DEPLOYMENT_NAME and PRIOR_DEPLOYMENT_NAME; give them different names")
    notes: list[str] = []
    if prior and prior in existing:
        live = {prior: block.prior_share, current: block.current_share}
    else:
        live = {current: 100}
        if prior:
            notes.append(f"prior deployment '{prior}' does not exist yet: '{current}' takes 100% of traffic "
                         f"(configured {block.current_share}%)")
    for name in existing:
        live.setdefault(name, 0)
    mirror: dict[str, int] = {}
    if block.mirror_share:
        if live[current] == 0:
            mirror = {current: block.mirror_share}
        else:
            notes.append(f"MIRROR_TRAFFIC_ALLOCATION {block.mirror_share}% not applied: '{current}' takes live "
                         "traffic, and a mirror only goes to a deployment that takes none")
    return Split(live, mirror), notes
