"""The A/B rules of a release, written once for every deployment target (llmops/backends/targets.py).

1. The final traffic map is planned and validated as a whole, and a release into the deployment that serves
   users (a web app: onto its staging slot while that serves users) is refused, before anything changes.
2. The new deployment is created at 0% and smoke-tested alone (the azureml-model-deployment header; a web app's
   slot by its own URL) with every request of TEST_FILE_PATH: a non-2xx answer, or one without every flow
   output, fails the release and traffic stays exactly as it was.
3. Traffic moves to the configured split (PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION honoured, mirror included); the
   map it replaces stays in the target's history for `endpoint rollback`.
4. Deployments at 0% beyond the newest two are deleted, except those the current or the previous map names
   (the one a rollback restores).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from llmops.backends.endpoints import Deployment, DeploymentInUse, Endpoint, TrafficMap
from llmops.backends.targets import DeploymentTarget
from llmops.backends.traffic import check_split
from llmops.backends.types import ModelVersion
from llmops.config.deployment_config import OnlineEndpoint, WebAppEndpoint
from llmops.errors import StepFailed
from llmops.serving.deploy_plan import plan
from llmops.serving.smoke import RequestCheck, check_reply

logger = logging.getLogger(__name__)

KEEP_NEWEST = 2


@dataclass(frozen=True)
class Released:
    deployment: Deployment
    smoke: list[RequestCheck]
    traffic: TrafficMap
    notes: list[str]
    removed: list[str]  # deployments cleaned up


def busy_with_another_release(endpoint: Endpoint, deployment: Deployment) -> DeploymentInUse | None:
    existing = next((d for d in endpoint.deployments if d.name == deployment.name), None)
    split = endpoint.split
    if existing is None or existing.same_release(deployment):
        return None
    return DeploymentInUse(existing, split) if split.share(deployment.name) or split.mirror.get(deployment.name) \
        else None


def release(target: DeploymentTarget, block: OnlineEndpoint | WebAppEndpoint, config_key: str,
            deployment: Deployment, model: ModelVersion, requests: list[tuple[str, Any]],
            outputs: list[str]) -> Released:
    """Run the rules above on `target`; raises DeploymentInUse (step 1) or StepFailed (step 2)."""
    current = deployment.name
    endpoint, notes = target.open()
    existing = [d.name for d in endpoint.deployments]
    split, plan_notes = plan(block, endpoint, current, config_key)
    check_split(split, [*existing, current], target.endpoint)
    busy = busy_with_another_release(endpoint, deployment)
    if busy is not None:
        raise busy
    before = next((d for d in endpoint.deployments if d.name == current), None)
    made = target.put_deployment(deployment, model)
    is_new_release = before is None or not before.same_release(deployment)
    logger.info("deployment %s: model %s version %d, variant %s; smoke test with %s", current, model.name,
                model.version, deployment.variant_label, block.TEST_FILE_PATH)
    checks = []
    for label, inputs in requests:
        reply = target.score(current, inputs)
        detail = target.failure_detail(reply) if reply.status != 200 else None
        checks.append(check_reply(label, reply, outputs, current, detail))
    failed = [c for c in checks if not c.ok]
    if failed:
        kept = target.state().split.describe()
        if not is_new_release:
            what = "it was not changed"
        elif target.removes_failed_release:
            target.remove_deployment(current)
            what = "it was removed"
        else:
            what = "it stays at 0% for its logs (the next deploy updates it)"
        slot = f" on the {made.slot} slot of web app '{target.endpoint}'" if made.slot else ""
        raise StepFailed(f"smoke test of deployment '{current}' (model {model.name} version {model.version}){slot} "
                         f"failed: " + "; ".join(c.describe() for c in failed)
                         + f"; {what} and traffic is unchanged ({kept})")
    traffic = target.set_split(split, f"deploy {model.name} version {model.version} as {current}")
    prior = block.PRIOR_DEPLOYMENT_NAME if isinstance(block, OnlineEndpoint) else ""
    removed = clean_up(target, protected={current, prior})
    notes += plan_notes + [f"removed deployment '{name}' (0% traffic, older than the newest {KEEP_NEWEST})"
                           for name in removed]
    return Released(made, checks, traffic, notes, removed)


def clean_up(target: DeploymentTarget, protected: set[str]) -> list[str]:
    """Delete deployments at 0% (live and mirror) beyond the newest KEEP_NEWEST, keeping those `protected` and
    those the current or previous map gives traffic; returns their names."""
    endpoint = target.state()
    maps = [m for m in reversed(target.history()) if not m.rolled_back][:2]
    named = {name for m in maps for shares in (m.split.live, m.split.mirror) for name, share in shares.items()
             if share}
    newest_first = sorted(endpoint.deployments, key=lambda d: d.created_at, reverse=True)
    removed = []
    for old in newest_first[KEEP_NEWEST:]:
        if old.name in protected or old.name in named:
            continue
        target.remove_deployment(old.name)
        removed.append(old.name)
    return removed
