"""`configs/deployment_config.json`: deployment targets per environment and their A/B traffic."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from llmops.config.base import ConfigFile, ConfigModel
from llmops.errors import LlmopsError

VARIABLE_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)?$")
# The original template writes traffic shares as strings ("100", "" for none); numbers are accepted too.
Share = int | str


def parse_share(value: Share) -> int | None:
    """'' -> None, '10' or 10 -> 10; raises ValueError unless a whole number from 0 to 100."""
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number from 0 to 100, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        if not text.isdigit():
            raise ValueError(f"must be a whole number from 0 to 100, got '{value}'")
        value = int(text)
    if not 0 <= value <= 100:
        raise ValueError(f"must be a whole number from 0 to 100, got {value}")
    return value


JUDGES = ("auto", "post_prod_flow", "pairwise")


class CanarySettings(ConfigModel):
    """How `llmops endpoint watch` judges a canary against the live deployment and when it promotes or rolls back."""

    # auto: the env's post-production evaluation flow when it has one, else the pairwise LLM judge.
    JUDGE: str = Field(default="auto", json_schema_extra={"enum": list(JUDGES)})
    # The post-production flow's output compared between the two answers; empty: its first numeric output.
    METRIC: str = ""
    # The connection the pairwise judge's prompt goes through; empty: the first one the standard flow uses.
    JUDGE_CONNECTION: str = ""
    ALPHA: float = Field(default=0.05, gt=0.0, lt=0.5)
    MARGIN: float = Field(default=0.1, ge=0.0, lt=1.0)  # on delta = P(canary better) - P(canary worse)
    MIN_SAMPLE: int = Field(default=20, ge=1)  # judged requests at each share before the next promotion step
    PROMOTION_STEPS: list[int] = Field(default_factory=lambda: [10, 50, 100])
    MAX_DURATION_MINUTES: float = Field(default=60.0, gt=0.0)
    POLL_SECONDS: float = Field(default=5.0, gt=0.0)
    # On a cloud target (an Azure ML online endpoint's deployments, a web app's slots), how often each server ships
    # its production log to storage: the watch sees a request only once its segment is shipped, so this bounds how
    # late it sees it (the server's own default, 300 s, would make each look five minutes stale).
    # LLMOPS_PRODUCTION_LOG_SEGMENT_S in an online endpoint's ENVIRONMENT_VARIABLES overrides it.
    LOG_SEGMENT_SECONDS: float = Field(default=60.0, gt=0.0)

    @field_validator("JUDGE")
    @classmethod
    def _known_judge(cls, value: str) -> str:
        if value not in JUDGES:
            raise ValueError(f"must be one of {', '.join(JUDGES)}, got '{value}'")
        return value

    @field_validator("PROMOTION_STEPS")
    @classmethod
    def _rising_to_100(cls, value: list[int]) -> list[int]:
        if not value or value[-1] != 100 or any(not 0 < s <= 100 for s in value) or value != sorted(set(value)):
            raise ValueError(f"must be rising shares from 1 to 100 ending with 100, such as [10, 50, 100]; got {value}")
        return value


class _Target(ConfigModel):
    ENV_NAME: str = Field(min_length=1)
    TEST_FILE_PATH: str = "sample-request.json"


class OnlineEndpoint(_Target):
    ENDPOINT_NAME: str = ""
    ENDPOINT_DESC: str = ""
    DEPLOYMENT_DESC: str = ""
    PRIOR_DEPLOYMENT_NAME: str = ""
    PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION: Share = ""
    CURRENT_DEPLOYMENT_NAME: str = ""
    CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION: Share = "100"
    DEPLOYMENT_VM_SIZE: str = ""
    DEPLOYMENT_INSTANCE_COUNT: int = Field(default=1, ge=1)
    ENVIRONMENT_VARIABLES: dict[str, str] = Field(default_factory=dict)
    # Share of live requests also sent to the current deployment as shadow traffic (never returned).
    MIRROR_TRAFFIC_ALLOCATION: Share = ""
    # `llmops endpoint watch`: the canary's sequential test, promotion steps and limits.
    CANARY: CanarySettings = Field(default_factory=CanarySettings)

    @field_validator("PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION", "CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION")
    @classmethod
    def _whole_share(cls, value: Share) -> Share:
        parse_share(value)
        return value

    @model_validator(mode="after")
    def _shares_sum_to_100(self) -> OnlineEndpoint:
        current = parse_share(self.CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION) or 0
        prior = parse_share(self.PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION) or 0
        if self.PRIOR_DEPLOYMENT_NAME and current + prior != 100:
            raise ValueError(
                f"CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION ({current}) + PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION "
                f"({prior}) must sum to 100"
            )
        if not self.PRIOR_DEPLOYMENT_NAME and prior:
            raise ValueError(
                f"PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION is {prior} but PRIOR_DEPLOYMENT_NAME is empty; "
                "name the prior deployment or leave its share empty"
            )
        if not self.PRIOR_DEPLOYMENT_NAME and current != 100:
            raise ValueError(
                f"CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION is {current} with no PRIOR_DEPLOYMENT_NAME; "
                "a single deployment takes 100"
            )
        return self

    @field_validator("MIRROR_TRAFFIC_ALLOCATION")
    @classmethod
    def _mirror_share(cls, value: Share) -> Share:
        share = parse_share(value)
        if share is not None and share > 50:
            raise ValueError(f"must be at most 50, got {share}")
        return value

    @model_validator(mode="after")
    def _mirror_only_to_shadow(self) -> OnlineEndpoint:
        if (parse_share(self.MIRROR_TRAFFIC_ALLOCATION) or 0) and self.current_share:
            raise ValueError(
                "MIRROR_TRAFFIC_ALLOCATION mirrors to the current deployment, which must then take no live "
                f"traffic (CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION is {self.current_share})"
            )
        return self

    @property
    def current_share(self) -> int:
        return parse_share(self.CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION) or 0

    @property
    def prior_share(self) -> int:
        return parse_share(self.PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION) or 0

    @property
    def mirror_share(self) -> int:
        return parse_share(self.MIRROR_TRAFFIC_ALLOCATION) or 0


class AzureOnlineEndpoint(OnlineEndpoint):
    """What managed and Kubernetes online endpoints share: how each instance of a deployment takes requests."""

    # How long a request may run before Azure ML answers 408 (its default, 5 s, is short for an LLM flow; 180 s is
    # its maximum).
    REQUEST_TIMEOUT_MS: int = Field(default=90_000, ge=1_000, le=180_000)
    # Requests one instance takes at once; more wait in Azure ML's queue (the endpoint server's threads take 8).
    MAX_CONCURRENT_REQUESTS_PER_INSTANCE: int = Field(default=8, ge=1, le=1_000)


class ManagedEndpoint(AzureOnlineEndpoint):
    """Azure ML managed online endpoint."""


class KubernetesEndpoint(AzureOnlineEndpoint):
    COMPUTE_NAME: str = ""
    CPU_ALLOCATION: str = ""
    MEMORY_ALLOCATION: str = ""


class LocalEndpoint(OnlineEndpoint):
    """The loopback endpoint server: same shape as azure_managed_endpoint, plus stickiness and its own key."""

    # Requests carrying this header keep landing on the same deployment while the split is unchanged.
    STICKY_SESSION_HEADER: str = ""
    # The name of the variable (in .env or the environment) whose value is the key POST /score requires, sent as
    # `Authorization: Bearer <key>`; empty: no key. The key itself never goes in a config file.
    AUTH_KEY_VARIABLE: str = Field(default="", json_schema_extra={"pattern": VARIABLE_NAME.pattern})
    # A larger request body is answered 413 before it is read.
    MAX_REQUEST_BODY_BYTES: int = Field(default=1024 * 1024, ge=1)
    # Server processes on the endpoint's one port (llmops/serving/workers.py); LLMOPS_WORKERS overrides it. One
    # process is bound by the GIL to about one core; each worker costs a copy of the loaded flows in memory.
    WORKERS: int = Field(default=1, ge=1, le=64)

    @field_validator("AUTH_KEY_VARIABLE")
    @classmethod
    def _variable_name(cls, value: str) -> str:
        if not VARIABLE_NAME.match(value):
            raise ValueError(f"must be the name of a variable, such as ENDPOINT_KEY (letters, digits and _), got "
                             f"{len(value)} characters that are not one; the key itself goes in .env")
        return value


class WebAppEndpoint(_Target):
    """A web app for containers: the release on a staging slot, then a share of the site's requests or a swap."""

    CONNECTION_NAMES: list[str] = Field(default_factory=list)
    REGISTRY_NAME: str = ""
    REGISTRY_RG_NAME: str = ""
    APP_PLAN_NAME: str = ""
    WEB_APP_NAME: str = ""
    WEB_APP_RG_NAME: str = ""
    WEB_APP_SKU: str = "B3"
    # The user-assigned identity the app pulls its image and reads Key Vault with: its resource id, or its name
    # in WEB_APP_RG_NAME.
    USER_MANAGED_ID: str = ""
    # The share of the site's requests a new release takes once its smoke test passed: 100 swaps it into
    # production (the release before stays on the staging slot at 0%), less splits the site between the slots.
    # A first release always takes 100.
    CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION: Share = "100"
    # `llmops endpoint watch`: the staging slot's release (the canary) judged against production's (the live one).
    CANARY: CanarySettings = Field(default_factory=CanarySettings)

    @field_validator("CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION")
    @classmethod
    def _whole_share(cls, value: Share) -> Share:
        parse_share(value)
        return value

    @property
    def current_share(self) -> int:
        share = parse_share(self.CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION)
        return 100 if share is None else share


DEPLOYMENT_TARGETS = ("local", "azure_managed", "kubernetes", "webapp")


class DeploymentConfig(ConfigFile):
    azure_managed_endpoint: list[ManagedEndpoint] = Field(default_factory=list)
    kubernetes_endpoint: list[KubernetesEndpoint] = Field(default_factory=list)
    webapp_endpoint: list[WebAppEndpoint] = Field(default_factory=list)
    local_endpoint: list[LocalEndpoint] = Field(default_factory=list)

    def blocks(self) -> list[tuple[str, int, _Target]]:
        """(config key, index, block) of every deployment block, for checks that apply to all."""
        out: list[tuple[str, int, _Target]] = []
        for key in ("azure_managed_endpoint", "kubernetes_endpoint", "webapp_endpoint", "local_endpoint"):
            out.extend((key, i, block) for i, block in enumerate(getattr(self, key)))
        return out

    def target_for(self, env: str) -> str:
        """The target `--target auto` (the default) acts on: the one whose block names the env. local stays the
        default: it is chosen when no block names the env, and when local_endpoint names it beside Azure blocks
        (the shipped use cases keep the original template's example Azure blocks); an Azure target (azure_managed,
        kubernetes, webapp) is chosen when its block is the only one naming the env. Several Azure blocks and no
        local one: LlmopsError, name the target. The CD workflow's read-deploy-target action applies the same
        rule (a test holds the two together)."""
        named = [t for t in DEPLOYMENT_TARGETS if self.for_env(t, env) is not None]
        if not named or named[0] == "local":
            return "local"
        if len(named) > 1:
            blocks = ", ".join(f"{t}_endpoint" for t in named)
            raise LlmopsError(f"env '{env}' has entries in {blocks} and none in local_endpoint; name the target with "
                              f"--target ({' or '.join(named)})")
        return named[0]

    def for_env(self, target: str, env: str) -> _Target | None:
        blocks: list[_Target] = list(getattr(self, f"{target}_endpoint"))
        return next((b for b in blocks if b.ENV_NAME == env), None)
