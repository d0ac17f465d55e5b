from __future__ import annotations

import argparse

from llmops.cli.commands import run as run_command

NAME = "record"
HELP = ("run the pipeline against a live provider and record the LLM answers the cassettes lack (a changed prompt's "
        "new requests); the recorded ones are replayed and kept")
EXAMPLE = "llmops record --use-case web_classification --env pr --provider embedded"


def configure(parser: argparse.ArgumentParser) -> None:
    run_command.configure(parser)
    parser.add_argument("--refresh", action="store_true",
                        help="ask the provider again for every request and replace the recorded answers (after "
                             "changing the model or provider the cassettes should reflect)")


def run(args: argparse.Namespace) -> int:
    if args.provider == "replay":
        from llmops.errors import UsageError

        raise UsageError("record needs a live provider (auto, embedded, azure_openai, ...), not replay")
    return run_command.run(args, record=True)
