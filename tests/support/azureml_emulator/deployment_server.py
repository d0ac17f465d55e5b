"""How the emulator runs one online deployment: its image's build context as a real endpoint server process.

An online deployment names an environment whose image is the model version's serving image
(`<workspace registry>.azurecr.io/<use case>:<version>-<hash>`). The emulator has no Docker engine, so an image
"pushed" to a registry here is its build context (`web_apps.push_image`, standing in for `az acr build`), and a
deployment runs that context as the image's ENTRYPOINT would, through llmops.serving.image.run_context: the same
server, names and environment (the deployment's environmentVariables) the container would get, as the web app
emulator runs a slot.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from llmops.serving.image.run import RunningContext, run_context

# What a container gets from its host beyond its environment variables: enough for Python to run, and the trust of
# the session's CA (REQUESTS_CA_BUNDLE), which signed Azurite's certificate as a public CA signs Azure Storage's.
_HOST_VARIABLES = ("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")


@dataclass(frozen=True)
class Release:
    """What a deployment runs: its image's build context and its environment variables."""

    endpoint: str
    deployment: str
    context_dir: Path
    environment_variables: dict[str, str]


@dataclass(frozen=True)
class RunningServer:
    running: RunningContext
    name: str

    @property
    def url(self) -> str:  # http://127.0.0.1:<port>
        return self.running.url

    def stop(self) -> None:
        self.running.stop(timeout=10)


def start_deployment_server(work_dir: Path, release: Release, platform: dict[str, str] | None = None) -> RunningServer:
    """Start the deployment's server with its state in `work_dir`; returns once it answers /health. `platform`: what
    Azure ML sets in every container (the endpoint identity's token endpoint, MSI_ENDPOINT and MSI_SECRET)."""
    environ = {k: os.environ[k] for k in _HOST_VARIABLES if k in os.environ}
    environ.update(platform or {})
    running = run_context(release.context_dir, state_dir=work_dir, endpoint=release.endpoint,
                          deployment=release.deployment, environ=environ, env_vars=release.environment_variables,
                          threads=4, timeout=120)
    return RunningServer(running, release.deployment)
