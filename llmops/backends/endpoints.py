"""An endpoint, its deployments and its traffic maps: what every backend's endpoint registry hands out."""

from __future__ import annotations

from dataclasses import dataclass, field

from llmops.backends.traffic import Split
from llmops.errors import LlmopsError, unknown_name


@dataclass(frozen=True)
class Deployment:
    endpoint: str
    name: str
    model_name: str
    model_version: int
    flow: str  # the flow folder the model was registered from (its cassettes are named after it)
    variant: dict[str, str]
    variant_label: str
    env_vars: dict[str, str] = field(default_factory=dict)
    created_at: str = ""
    slot: str = ""  # where a web app runs it (production, staging); online endpoints' deployments have none

    def same_release(self, other: Deployment) -> bool:
        return (self.model_name, self.model_version, self.variant, self.env_vars) == (
            other.model_name, other.model_version, other.variant, other.env_vars)


@dataclass(frozen=True)
class TrafficMap:
    seq: int
    split: Split
    reason: str
    rolled_back: bool
    created_at: str


@dataclass(frozen=True)
class Endpoint:
    name: str
    use_case: str
    env: str
    provider: str
    version: int  # moves on every change: a server reloads when it moved
    deployments: tuple[Deployment, ...]
    traffic: TrafficMap | None  # None until the first map is set

    @property
    def split(self) -> Split:
        return self.traffic.split if self.traffic else Split()

    def deployment(self, name: str) -> Deployment:
        found = next((d for d in self.deployments if d.name == name), None)
        if found is None:
            raise unknown_name(f"deployment of endpoint '{self.name}'", name, [d.name for d in self.deployments])
        return found


class DeploymentInUse(LlmopsError):
    """A deployment that takes traffic cannot be given another release: the new one must start at 0%."""

    def __init__(self, existing: Deployment, split: Split) -> None:
        super().__init__(
            f"deployment '{existing.name}' of endpoint '{existing.endpoint}' serves model {existing.model_name} "
            f"version {existing.model_version} and takes traffic ({split.describe()}); give the new release "
            "another deployment name"
        )
        self.existing, self.split = existing, split
