"""The commands that build and push the image: run when a Docker engine answers, else printed (or, to push without
an engine, `az acr build`, which builds in the registry itself).

The image's name is llmops.backends.serving_image's (the one place it is made, for the deploy targets too), under
the registry configured (`image build --registry`, the Azure ML workspace's registry, or `REGISTRY_NAME` of the
env's webapp_endpoint block). Pushing to an Azure Container Registry takes a docker login to it: `az acr login`
gives one from the Azure CLI's login (on a GitHub runner, the OIDC login of azure/login).
"""

from __future__ import annotations

import logging
import shlex
import shutil
import subprocess
from collections import deque
from pathlib import Path

from llmops.backends.serving_image import ImageName
from llmops.errors import LlmopsError

logger = logging.getLogger(__name__)

ENGINE_TIMEOUT_S = 20.0


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


def acr_login_command(image: ImageName) -> list[str] | None:
    """`docker login` to an Azure Container Registry with the Azure CLI's login; None when the registry is not one."""
    return ["az", "acr", "login", "--name", image.acr_name] if image.acr_name else None


def az_available() -> bool:
    """Whether the Azure CLI is installed (its login is checked by the command that uses it)."""
    return shutil.which("az") is not None


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
