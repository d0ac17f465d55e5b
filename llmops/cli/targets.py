"""`--target` of the commands that act on a deployed endpoint (deploy, test-endpoint, endpoint), and the web app
of an env when that is the target.

The choice itself is llmops.serving.targets.choose_target: `auto` (the default) is the env's target, local unless
only an Azure block of deployment_config.json names the env. The web app is opened here, at the CLI edge, with
the Azure variables read once from the environment and .env, and handed to the step.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: `llmops --help` must not load the config models
    from llmops.backends.webapp import WebAppHost
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


def webapp_host(args: argparse.Namespace, ws: Workspace, uc: UseCase) -> WebAppHost:
    from llmops.backends import azure_edge
    from llmops.backends.webapp_target import open_webapp

    return open_webapp(ws, uc, args.env, azure_edge(os.environ, ws.root / ".env", args.verbose))
