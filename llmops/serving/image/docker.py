"""The image's name and the commands that build and push it: run when a Docker engine answers, else printed.

The tag is `<model version>-<first 12 of the snapshot's sha256>`: the version says which release, the hash
says which files, so a flow changed and registered again never reuses a tag. The repository is the use case's
name (lower case, as registries require), under the registry's login server when one is configured
(`REGISTRY_NAME` of the env's webapp_endpoint block, or `image build --registry`): an Azure Container Registry's
short name `myacr` stands for `myacr.azurecr.io`.
"""

from __future__ import annotations

import logging
import re
import shlex
import shutil
import subprocess
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from llmops.errors import LlmopsError

logger = logging.getLogger(__name__)

ACR_SUFFIX = ".azurecr.io"
ENGINE_TIMEOUT_S = 20.0
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
    name = registry.strip().rstrip("/").lower()
    return name if not name or "." in name or ":" in name else name + ACR_SUFFIX


def image_name(registry: str, use_case: str, model_version: int, sha256: str) -> ImageName:
    repository = re.sub(r"[^a-z0-9._-]+", "-", use_case.lower()).strip("._-") or "flow"
    return ImageName(login_server(registry), repository, f"{model_version}-{sha256[:TAG_HASH_LENGTH]}")


def build_command(context: Path, image: ImageName) -> list[str]:
    return ["docker", "build", "--tag", image.reference, "--file", str(context / "Dockerfile"), str(context)]


def push_command(image: ImageName) -> list[str]:
    return ["docker", "push", image.reference]


def acr_build_command(context: Path, image: ImageName, resource_group: str = "") -> list[str] | None:
    """Build in Azure Container Registry (no local engine needed); None when the registry is not one."""
    if not image.acr_name:
        return None
    group = ["--resource-group", resource_group] if resource_group else []
    return ["az", "acr", "build", "--registry", image.acr_name, *group, "--image",
            f"{image.repository}:{image.tag}", "--file", str(context / "Dockerfile"), str(context)]


def shown(command: list[str]) -> str:
    return shlex.join(command)


def engine_available() -> bool:
    """True when the docker client is installed and `docker info` reaches an engine."""
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(["docker", "info"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=ENGINE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def run(command: list[str]) -> None:
    """Run a docker command; its output goes to the log (stderr) line by line, as progress, never to stdout."""
    logger.info("$ %s", shown(command))
    tail: deque[str] = deque(maxlen=20)
    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip()
            tail.append(line)
            logger.info("  %s", line)
    if process.returncode != 0:
        raise LlmopsError(f"{shown(command)} failed with exit code {process.returncode}; its last lines:\n"
                          + "\n".join(tail))
