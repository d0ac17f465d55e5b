"""The traffic map a deploy ends with, from the env's block and the endpoint as it is before the deploy.

An online endpoint's block names the deployments (CURRENT and PRIOR, with their shares); a web app's names only
the share the new release takes, and the release it shares the site with is the one on the production slot.
"""

from __future__ import annotations

from collections.abc import Collection

from llmops.backends.endpoints import Endpoint
from llmops.backends.traffic import Split
from llmops.backends.webapp import PRODUCTION
from llmops.config.deployment_config import OnlineEndpoint, WebAppEndpoint
from llmops.errors import LlmopsError


def plan(block: OnlineEndpoint | WebAppEndpoint, endpoint: Endpoint, release: str,
         target: str) -> tuple[Split, list[str]]:
    """(the map to set once `release` passed its smoke test, notes to tell the user); `target`: the block's key."""
    if isinstance(block, WebAppEndpoint):
        return plan_slots(block, endpoint, release)
    return plan_split(block, [d.name for d in endpoint.deployments], target)


def plan_split(block: OnlineEndpoint, existing: Collection[str],
               target: str = "local_endpoint") -> tuple[Split, list[str]]:
    """`existing` are the endpoint's deployments before this deploy. The prior keeps its configured share
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


def plan_slots(block: WebAppEndpoint, endpoint: Endpoint, release: str) -> tuple[Split, list[str]]:
    """A first release takes 100%; a later one CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION beside the production slot's
    release (at 100 the web app swaps them: the one before stays on the staging slot at 0%). A release that already
    runs on the production slot is tested again and the map kept."""
    production = next((d.name for d in endpoint.deployments if d.slot == PRODUCTION), None)
    if production is None:
        return Split({release: 100}), []
    if production == release:  # its first smoke test may have failed: then no map was set yet
        kept = endpoint.split if any(endpoint.split.live.values()) else Split({release: 100})
        return kept, [f"release {release} already runs on the production slot: tested again, the traffic map kept"]
    share = block.current_share
    return Split({release: share, production: 100 - share}), []
