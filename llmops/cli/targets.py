"""The deployment target of a command (`--target`), and the web app of an env when that is the target.

`auto` is the target whose block of deployment_config.json names the env, local unless only an Azure block does
(DeploymentConfig.target_for). The web app is opened here, at the CLI edge, with the Azure variables read once
from the environment and .env, and handed to the step.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace

if TYPE_CHECKING:
    from llmops.backends.webapp import WebAppHost

TARGET_CHOICES = ("auto", "local", "azure_managed", "kubernetes", "webapp")


def add_target(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--target", default=default, choices=TARGET_CHOICES, metavar="NAME",
                        help=f"deployment target: {', '.join(TARGET_CHOICES)} (auto: the block of "
                             f"deployment_config.json naming the env, local unless only an Azure block does; "
                             f"default: {default})")


def resolve_target(uc: UseCase, env: str, target: str) -> str:
    return uc.deployment.target_for(env) if target == "auto" else target


def webapp_host(args: argparse.Namespace, ws: Workspace, uc: UseCase) -> WebAppHost:
    from llmops.backends import azure_edge
    from llmops.backends.webapp_target import open_webapp

    return open_webapp(ws, uc, args.env, azure_edge(os.environ, ws.root / ".env", args.verbose))
