"""Command-line options for LLM access, and the session they open (the one place that reads .env)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported for types only: `llmops --help` must not pay for pydantic and YAML
    from llmops.backends.protocols import Backend
    from llmops.config.flow_base import Flow
    from llmops.config.use_case import UseCase
    from llmops.config.workspace import Workspace


def add_llm_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", metavar="NAME",
                        help="auto (default: .env key, else the embedded model), azure_openai, openai, "
                             "openai_compatible, embedded or replay (recorded responses)")
    parser.add_argument("--model", metavar="NAME", default="qwen-1.5b",
                        help="embedded model: qwen-1.5b (default), qwen-0.5b, smollm2-135m")
    parser.add_argument("--env-file", metavar="PATH", help="connections file (default: .env at the repository root)")


def open_session(args: argparse.Namespace, ws: Workspace, uc: UseCase, env: str, flows: list[Flow],
                 backend: Backend, record: bool = False) -> Any:
    """The LLM session of a command. Commands open their backend (open_backend) first: an env whose backend
    cannot be opened then fails at once, not after a model started; so does a flow importing a module that is
    not installed (the steps check it too, for callers of the Python API). The backend's executor says which
    connections its lines run with (the .env ones here, a key vault's on Azure ML)."""
    from llmops.config.flow_modules import require_flow_modules
    from llmops.llm.connections import read_connections
    from llmops.llm.providers import Use
    from llmops.llm.session import LlmSession, LlmSettings

    require_flow_modules(uc, env, flows)
    env_file = Path(args.env_file) if args.env_file else ws.root / ".env"
    provider = args.provider or (uc.env(env).PROVIDER if uc.env(env).PROVIDER != "auto" else "auto")
    uses = [Use(flow.name, node, conn) for flow in flows for node, conn in flow.connections()]
    connections = backend.executor.connections(sorted({use.connection for use in uses}), provider,
                                               read_connections(env_file, os.environ))
    settings = LlmSettings(
        state_dir=ws.state_dir, cassette_dir=uc.folder / "cassettes", provider=provider,
        connections=connections, record=record, embedded_model=args.model,
        record_hint=f"llmops record --use-case {uc.name} --env {env}", max_concurrency=uc.env(env).CONCURRENCY,
    )
    return LlmSession(settings, uses)
