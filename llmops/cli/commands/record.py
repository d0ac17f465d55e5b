from __future__ import annotations

import argparse

from llmops.cli.commands import run as run_command

NAME = "record"
HELP = "run the pipeline against a live provider and record every LLM answer as cassettes for replay"
EXAMPLE = "llmops record --use-case web_classification --env pr --provider embedded"


def configure(parser: argparse.ArgumentParser) -> None:
    run_command.configure(parser)


def run(args: argparse.Namespace) -> int:
    if args.provider == "replay":
        from llmops.errors import UsageError

        raise UsageError("record needs a live provider (auto, embedded, azure_openai, ...), not replay")
    return run_command.run(args, record=True)
