"""Command-line options for LLM access, and the session they open (llmops.llm.open_session reads .env)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported for types only: `llmops --help` must not pay for pydantic and YAML
    from llmops.backends.protocols import Backend
    from llmops.config.flow_base import Flow
    from llmops.config.use_case import UseCase
    from llmops.config.workspace import Workspace
    from llmops.llm.session import LlmSession


def add_llm_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", metavar="NAME",
                        help="auto (default: .env key, else the embedded model), azure_openai, openai, "
                             "openai_compatible, embedded or replay (recorded responses)")
    parser.add_argument("--model", metavar="NAME", default="qwen-1.5b",
                        help="embedded model: qwen-1.5b (default), qwen-0.5b, smollm2-135m")
    parser.add_argument("--env-file", metavar="PATH", help="connections file (default: .env at the repository root)")


def open_session(args: argparse.Namespace, ws: Workspace, uc: UseCase, env: str, flows: list[Flow],
                 backend: Backend, record: bool = False) -> LlmSession:
    """The LLM session of a command, from its options. Commands open their backend (open_backend) first: an env
    whose backend cannot be opened then fails at once, not after a model started; so does a flow importing a
    module that is not installed (the steps check it too, for callers of the Python API)."""
    from llmops.config.flow_modules import require_flow_modules
    from llmops.llm.open_session import open_session as open_llm_session

    require_flow_modules(uc, env, flows)
    return open_llm_session(ws, uc, env, flows, provider=args.provider, record=record,
                            refresh=record and getattr(args, "refresh", False), embedded_model=args.model,
                            env_file=Path(args.env_file) if args.env_file else None,
                            connections_for=backend.executor.connections)
