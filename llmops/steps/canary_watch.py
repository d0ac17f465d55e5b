"""Step: watch a canary (the env's CURRENT_DEPLOYMENT_NAME) against the live deployment (PRIOR_DEPLOYMENT_NAME), and
promote it step by step or roll it back by a sequential test (`llmops endpoint watch`).

Each poll reads the requests the canary answered since it took traffic (an AnswerSource: the local production
log, or on an Azure ML online endpoint or a web app the segments its servers shipped to storage, seen once shipped:
every CANARY.LOG_SEGMENT_SECONDS), pairs each with the live deployment's answer to the same request (a mirror copy's
partner, or a shadow request to the live deployment: serving/canary_pairs.py), judges the pairs
(serving/canary_judges.py), updates the sequential test (report/sequential_test.py) and acts on its plan
(report/canary_decision.py) through the deployment target: on a web app the canary is the staging slot's release
and the live one production's, a promotion raises the staging slot's percentage and swaps at 100%, a rollback
routes it 0% (the target's set_split). Every decision, with its evidence, goes to a DecisionLog
where the endpoint's state lives (the local endpoint registry; a cloud endpoint's production-log container);
`endpoint status` shows it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from llmops.backends.canary import PROMOTE, ROLLBACK, STARTED, WATCH, AnswerSource, CanaryDecision, DecisionLog
from llmops.backends.endpoints import Endpoint, TrafficMap
from llmops.backends.production_logs import ProductionLogStore, segment_seconds
from llmops.backends.protocols import Backend, FlowSession
from llmops.backends.targets import AZURE_ML_TARGETS, LOCAL, WEBAPP, DeploymentTarget
from llmops.backends.traffic import Split
from llmops.backends.webapp import PRODUCTION, STAGING
from llmops.config.deployment_config import CanarySettings, OnlineEndpoint, WebAppEndpoint
from llmops.config.flow_base import Flow
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError
from llmops.report.canary_decision import decide
from llmops.report.sequential_test import evidence
from llmops.serving.canary_answers import ProductionLogAnswers, ShippedLogAnswers
from llmops.serving.canary_judges import (
    PAIRWISE,
    POST_PROD_FLOW,
    FlowJudge,
    JudgeContext,
    PairwiseJudge,
    pairwise_flow,
)
from llmops.serving.canary_pairs import AnswerPair, pair_answers
from llmops.serving.production_log import log_path
from llmops.serving.targets import target_block

logger = logging.getLogger(__name__)
WHERE = "configs/deployment_config.json"
SHIPPING_TARGETS = (*AZURE_ML_TARGETS, WEBAPP)  # their servers ship the production log to blob storage


class PairJudge(Protocol):
    name: str

    def judge(self, pairs: list[AnswerPair]) -> list[float | None]: ...


@dataclass(frozen=True)
class JudgeChoice:
    kind: str  # post_prod_flow or pairwise
    flow: Flow
    mapping: dict[str, str]


def settings_of(use_case: UseCase, env: str, kind: str) -> tuple[OnlineEndpoint | WebAppEndpoint, CanarySettings]:
    """The env's block of target `kind` and its CANARY settings; an online endpoint's block must name the two
    deployments watched (a web app's are its slots' releases, read from the site: watched_pair)."""
    block = target_block(use_case, env, kind)
    if isinstance(block, OnlineEndpoint) and (not block.CURRENT_DEPLOYMENT_NAME or not block.PRIOR_DEPLOYMENT_NAME):
        raise LlmopsError(f"use_cases/{use_case.name}/{WHERE}: the {kind} block for env '{env}' must name "
                          "CURRENT_DEPLOYMENT_NAME (the canary) and PRIOR_DEPLOYMENT_NAME (the live deployment) for "
                          "endpoint watch")
    return block, block.CANARY


def watched_pair(block: OnlineEndpoint | WebAppEndpoint, state: Endpoint) -> tuple[str, str]:
    """(canary, live): the block's CURRENT and PRIOR deployments; on a web app the staging slot's release and
    production's, whatever their names (a release is named by its image's tag, which no config holds)."""
    if isinstance(block, OnlineEndpoint):
        for name in (block.CURRENT_DEPLOYMENT_NAME, block.PRIOR_DEPLOYMENT_NAME):
            state.deployment(name)  # an unknown deployment is named, with the ones that exist
        return block.CURRENT_DEPLOYMENT_NAME, block.PRIOR_DEPLOYMENT_NAME
    slots = {d.slot: d.name for d in state.deployments}
    if STAGING not in slots or PRODUCTION not in slots:
        raise LlmopsError(f"web app '{state.name}' has no release on its staging slot to watch "
                          f"({', '.join(f'{k} {v}' for k, v in sorted(slots.items())) or 'no release'}); deploy "
                          "the new release with CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION below 100 first")
    return slots[STAGING], slots[PRODUCTION]


def choose_judge(workspace: Workspace, use_case: UseCase, env: str, kind: str) -> JudgeChoice:
    """The judge CANARY.JUDGE names (auto: the env's post-production flow when it has one, else pairwise) and the
    flow it runs, found before any LLM session opens."""
    _, settings = settings_of(use_case, env, kind)
    post_prod = use_case.post_prod_flow(env)
    judge = settings.JUDGE if settings.JUDGE != "auto" else (POST_PROD_FLOW if post_prod is not None else PAIRWISE)
    if judge == POST_PROD_FLOW:
        if post_prod is None:
            raise LlmopsError(f"use_cases/{use_case.name}/{WHERE}: CANARY.JUDGE is post_prod_flow but env '{env}' has "
                              "no POST_PROD_EVALUATION_FLOW_PATH in llmops_config.json; add one, or set JUDGE to "
                              "pairwise")
        mapping = use_case.mapping.evaluation.get(post_prod.name)
        if mapping is None:
            raise LlmopsError(f"use_cases/{use_case.name}/configs/mapping_config.json has no evaluation."
                              f"{post_prod.name} mapping for the post-production flow the canary judge runs")
        return JudgeChoice(POST_PROD_FLOW, post_prod, mapping)
    connection = settings.JUDGE_CONNECTION or _first_connection(use_case, env)
    flow = pairwise_flow(workspace.state_dir / "canary_judge", connection, workspace.root)
    return JudgeChoice(PAIRWISE, flow, {})


def make_judge(workspace: Workspace, use_case: UseCase, env: str, choice: JudgeChoice, backend: Backend,
               session: FlowSession, endpoint: str, kind: str = LOCAL) -> PairJudge:
    """The judge of `choice`, running its flow through `backend`'s executor in the command's LLM `session`."""
    context = JudgeContext(backend, session, use_case.name, env, endpoint, workspace.shown(choice.flow.path))
    if choice.kind == POST_PROD_FLOW:
        _, settings = settings_of(use_case, env, kind)
        return FlowJudge(context, choice.flow, choice.mapping, settings.METRIC)
    return PairwiseJudge(context, choice.flow)


def _first_connection(use_case: UseCase, env: str) -> str:
    names = [connection for _, connection in use_case.standard_flow(env).connections()]
    return names[0] if names else "default"


def answer_source(workspace: Workspace, use_case: UseCase, env: str, target: DeploymentTarget,
                  store: ProductionLogStore | None, watched: tuple[str, str]) -> AnswerSource:
    """Where the endpoint's answered requests are: the local endpoint's production log; a cloud endpoint's (an Azure
    ML online endpoint's, a web app's) shipped segments of the `watched` deployments in `store` (which the CLI opens
    with the Azure variables it read)."""
    if target.kind == LOCAL:
        return ProductionLogAnswers(log_path(workspace.state_dir, target.endpoint))
    if target.kind not in SHIPPING_TARGETS or store is None:
        raise LlmopsError(f"endpoint watch needs the answered requests of endpoint '{target.endpoint}'; the "
                          f"{target.kind} target does not provide them (watch an Azure ML online endpoint, "
                          "--target azure_managed or kubernetes, a web app, --target webapp, or a local one)")
    block, _ = settings_of(use_case, env, target.kind)
    return ShippedLogAnswers(workspace.state_dir, store, target.endpoint, watched, segment_seconds(block))


def decision_log(backend: Backend, target: DeploymentTarget, store: ProductionLogStore | None) -> DecisionLog:
    """Where the endpoint's decisions are kept: with a cloud endpoint's shipped log (read from any machine), else in
    the backend's endpoint registry."""
    return store if target.kind != LOCAL and store is not None else backend.registry.endpoints


def window_start(history: list[TrafficMap], canary: str) -> str | None:
    """When the canary's current stretch of traffic began: the oldest of the newest maps (not rolled back) that give
    it a live or mirror share; None when the current map gives it none."""
    start = None
    for entry in (e for e in reversed(history) if not e.rolled_back):
        if not (entry.split.share(canary) or entry.split.mirror.get(canary, 0)):
            break
        start = entry.created_at
    return start


@dataclass
class WatchResult:
    endpoint: str
    canary: str
    live: str
    judge: str
    decisions: list[CanaryDecision] = field(default_factory=list)
    split: Split = field(default_factory=Split)

    @property
    def final(self) -> CanaryDecision | None:
        return self.decisions[-1] if self.decisions else None

    @property
    def rolled_back(self) -> bool:
        return any(d.action == ROLLBACK for d in self.decisions)

    def to_dict(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "canary": self.canary, "live": self.live, "judge": self.judge,
                "traffic": self.split.live, "mirror": self.split.mirror,
                "decisions": [d.to_dict() for d in self.decisions]}


@dataclass
class _Watch:
    target: DeploymentTarget
    endpoints: DecisionLog
    source: AnswerSource
    judge: PairJudge
    settings: CanarySettings
    canary: str
    live: str
    result: WatchResult
    outcomes: list[float] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    judged_at_share: int = 0
    unjudged: int = 0

    def record(self, action: str, before: int, after: int, reason: str, facts: dict[str, Any]) -> None:
        decision = self.endpoints.record_decision(CanaryDecision(
            self.target.endpoint, self.canary, self.live, action, before, after, self.judge.name, reason, facts))
        logger.info("canary %s: %s", self.canary, decision.describe())
        self.result.decisions.append(decision)

    def poll(self, since: str, expired: bool) -> bool:
        """One look at the new answers; True when the watch is over (rolled back, promoted to 100%, expired)."""
        split = self.target.state().split
        share = split.share(self.canary)
        pairs = pair_answers(self.source.answered_since(since), self.canary, self.live, self.seen,
                             lambda inputs: self.target.score(self.live, inputs))
        settled = [p.settled() for p in pairs]
        needing = [p for p, s in zip(pairs, settled, strict=True) if s is None]
        judged = iter(self.judge.judge(needing) if needing else [])
        new = [s if s is not None else next(judged) for s in settled]
        kept = [o for o in new if o is not None]
        self.unjudged += len(new) - len(kept)
        self.outcomes.extend(kept)
        self.judged_at_share += len(kept)
        found = evidence(self.outcomes, self.settings.ALPHA, self.settings.MARGIN)
        plan = decide(found, share, self.settings.PROMOTION_STEPS, self.settings.MIN_SAMPLE, self.judged_at_share,
                      expired)
        facts = {**found.to_dict(), "judged_at_share": self.judged_at_share, "unjudged": self.unjudged,
                 "new_pairs": len(pairs), "via": sorted({p.via for p in pairs})}
        if plan.action == ROLLBACK:
            self.result.split = self.target.set_split(Split({self.live: 100, self.canary: 0}, {}),
                                                      f"endpoint watch: rollback of {self.canary}; {found.describe()}"
                                                      ).split
        elif plan.action == PROMOTE:
            self.result.split = self.target.set_split(
                Split({self.canary: plan.share_after, self.live: 100 - plan.share_after}, {}),
                f"endpoint watch: promote {self.canary} to {plan.share_after}%; {found.describe()}").split
            self.judged_at_share = 0
        if plan.action != WATCH or kept:  # a checkpoint only when there is new evidence
            self.record(plan.action, share, plan.share_after, plan.reason, facts)
        return plan.action == ROLLBACK or plan.action != WATCH and (plan.action != PROMOTE or plan.share_after >= 100)


def watch(workspace: Workspace, use_case: UseCase, env: str, target: DeploymentTarget, backend: Backend,
          judge: PairJudge, *, once: bool = False, max_minutes: float | None = None,
          poll_seconds: float | None = None, clock: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], None] = time.sleep, store: ProductionLogStore | None = None) -> WatchResult:
    """Watch until a rollback, a promotion to 100% or the maximum duration (CANARY.MAX_DURATION_MINUTES, or
    `max_minutes`); `once`: one look, then return. `store`: a cloud endpoint's production-log container (its
    shipped segments are the answers, and its decisions are kept there)."""
    block, settings = settings_of(use_case, env, target.kind)
    state = target.state()
    canary, live = watched_pair(block, state)
    split = state.split
    source = answer_source(workspace, use_case, env, target, store, (canary, live))
    result = WatchResult(target.endpoint, canary, live, judge.name, split=split)
    if split.share(canary) >= 100:
        raise LlmopsError(f"canary '{canary}' of endpoint '{target.endpoint}' already takes 100% ({split.describe()}); "
                          "nothing to watch")
    since = window_start(target.history(), canary)
    if since is None:
        raise LlmopsError(f"canary '{canary}' of endpoint '{target.endpoint}' takes no traffic ({split.describe()}); "
                          f"give it a share or a mirror share first (llmops deploy, or llmops endpoint traffic "
                          f"--set {live}=90,{canary}=10 or --mirror {canary}=10)")
    run = _Watch(target, decision_log(backend, target, store), source, judge, settings, canary, live, result)
    share = split.share(canary)
    limit = (max_minutes if max_minutes is not None else settings.MAX_DURATION_MINUTES) * 60
    shipped = (f"; requests are seen once their log segment is shipped, every {segment_seconds(block):g} s"
               if isinstance(source, ShippedLogAnswers) else "")
    run.record(STARTED, share, share, f"watching {canary} against {live} with the {judge.name} judge since "
               f"{since} (alpha {settings.ALPHA:g}, margin {settings.MARGIN:g}, minimum {settings.MIN_SAMPLE} judged "
               f"requests per step, steps {settings.PROMOTION_STEPS}, at most {limit / 60:g} min){shipped}", {})
    started = clock()
    while True:
        expired = not once and clock() - started >= limit
        if run.poll(since, expired) or once:
            result.split = target.state().split
            return result
        sleep(poll_seconds if poll_seconds is not None else settings.POLL_SECONDS)
