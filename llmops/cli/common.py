"""Argument helpers and output helpers shared by the command modules."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmops.config.workspace import Workspace

if TYPE_CHECKING:  # types only: `llmops --help` must not load the backends or the config models
    from llmops.backends.protocols import Backend
    from llmops.config.use_case import UseCase


def add_use_case(parser: argparse.ArgumentParser, *, required: bool = True, env: bool = True) -> None:
    parser.add_argument("--use-case", "-u", required=required, metavar="NAME",
                        help="use case folder name under use_cases/")
    if env:
        parser.add_argument("--env", "-e", required=True, metavar="ENV",
                            help="environment name from llmops_config.json (pr, dev, ...)")


def add_cancel(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cancel", action="store_true",
                        help="cancel the Azure ML job this command left running (an env with BACKEND azureml) "
                             "instead of reattaching to it; submits no job")


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")


def workspace(args: argparse.Namespace) -> Workspace:
    return Workspace.find(Path(args.root) if args.root else None)


def env_backend(args: argparse.Namespace, ws: Workspace, uc: UseCase) -> Backend:
    """The backend of the command's env, opened once per command and passed to its steps. For an azureml env the
    Azure variables are read here, from the environment and the repository's .env: the only place they are read."""
    from llmops.backends import azure_edge, open_backend

    azure = azure_edge(os.environ, ws.root / ".env", args.verbose) if uc.env(args.env).BACKEND == "azureml" else None
    return open_backend(ws, uc, args.env, azure)


def out(text: str = "") -> None:
    """Results go to stdout; logs and progress go to stderr."""
    sys.stdout.write(text + "\n")


def out_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")
