"""`--target` of the commands that act on a deployed endpoint (deploy, test-endpoint, endpoint), and the target itself.

The choice is llmops.serving.targets.choose_target: `auto` (the default) is the env's target, local unless only an
Azure block of deployment_config.json names the env. The target is opened here, at the CLI edge: a web app with
the Azure variables read once from the environment and .env (whatever the env's BACKEND), an Azure ML endpoint
through the env's backend, the local endpoint with its key.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: `llmops --help` must not load the config models
    from llmops.backends.protocols import Backend
    from llmops.backends.targets import DeploymentTarget
    from llmops.config.use_case import UseCase
    from llmops.config.workspace import Workspace

# llmops.serving.targets.TARGET_CHOICES, spelled out so that `llmops --help` loads no config model (a unit test
# holds the two together).
TARGET_CHOICES = ("auto", "local", "azure_managed", "kubernetes", "webapp")


def add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="auto", choices=TARGET_CHOICES, metavar="NAME",
                        help=f"deployment target: {', '.join(TARGET_CHOICES)} (default auto: the block of "
                             "deployment_config.json naming the env, local unless only an Azure block does)")


def resolve_target(uc: UseCase, env: str, target: str) -> str:
    from llmops.serving.targets import choose_target

    return choose_target(uc, env, target)


def open_cli_target(args: argparse.Namespace, ws: Workspace, uc: UseCase, backend: Backend,
                    kind: str | None = None) -> DeploymentTarget:
    """The target `kind` (default: --target, resolved), opened with what this command read."""
    from llmops.backends import azure_edge
    from llmops.serving.targets import open_target
    from llmops.steps.deploy import endpoint_key

    kind = kind or resolve_target(uc, args.env, args.target)
    key = endpoint_key(ws, uc, args.env, os.environ) if kind == "local" else None
    azure = azure_edge(os.environ, ws.root / ".env", args.verbose) if kind == "webapp" else None
    return open_target(ws, uc, args.env, kind, backend, key, azure)
