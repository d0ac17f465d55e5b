"""Argument helpers and output helpers shared by the command modules."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from llmops.config.workspace import Workspace


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


def out(text: str = "") -> None:
    """Results go to stdout; logs and progress go to stderr."""
    sys.stdout.write(text + "\n")


def out_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")
