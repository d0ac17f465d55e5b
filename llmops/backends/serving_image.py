"""The serving image's name, made in one place for every part that names it: `llmops image build` (its tag and
push), the Azure ML online target (the environment a deployment runs) and the web app (the container a slot runs).

`<registry>/<use case>:<model version>-<first 12 of the image's content digest>`: the version says which release,
the digest what the image holds (llmops/serving/image/plan.py: the snapshot, the provider and its recorded answers
when it replays, the Dockerfile, the pinned packages, llmops' source), so a flow changed and registered again, or
the same version built as a replay image and as a live one, never share a tag. The repository is the use case's
name as registries take it (lower case, only letters, digits, '.', '_' and '-'). An Azure Container Registry's
short name `myacr` stands for its login server `myacr.azurecr.io`; no registry names an image for this machine
only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ACR_SUFFIX = ".azurecr.io"
TAG_HASH_LENGTH = 12


@dataclass(frozen=True)
class ImageName:
    registry: str  # a login server (myacr.azurecr.io), or "" for a name on this machine only
    repository: str
    tag: str

    @property
    def reference(self) -> str:
        local = f"{self.repository}:{self.tag}"
        return f"{self.registry}/{local}" if self.registry else local

    @property
    def acr_name(self) -> str:
        """The registry's name as `az acr` takes it; "" unless it is an Azure Container Registry."""
        return self.registry[: -len(ACR_SUFFIX)] if self.registry.endswith(ACR_SUFFIX) else ""


def login_server(registry: str) -> str:
    """`myacr` -> `myacr.azurecr.io`; a name with a dot or a port (ghcr.io/team, localhost:5000) is one already."""
    name = registry.strip().rstrip("/").lower()
    return name if not name or "." in name or ":" in name else name + ACR_SUFFIX


def image_name(registry: str, use_case: str, model_version: int, content_digest: str) -> ImageName:
    repository = re.sub(r"[^a-z0-9._-]+", "-", use_case.lower()).strip("._-") or "flow"
    return ImageName(login_server(registry), repository, f"{model_version}-{content_digest[:TAG_HASH_LENGTH]}")
