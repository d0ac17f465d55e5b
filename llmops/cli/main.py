"""Entry point: builds the parser from the command modules and maps errors to exit codes once."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from types import ModuleType

from llmops.cli.commands import COMMANDS
from llmops.errors import EXIT_USAGE, EXIT_USER_ERROR, ConfigError, LlmopsError
from llmops.version import __version__

EPILOG = """exit codes: 0 ok, 1 user or config error, 2 usage, 3 quality gate failed.
Run 'llmops <command> --help' for the options and an example of each command."""


def _modules() -> list[ModuleType]:
    return [importlib.import_module(f"llmops.cli.commands.{name}") for name in COMMANDS]


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(
        prog="llmops", description="GitOps LLMOps pipeline for prompt flow use cases.", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"llmops {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logs and tracebacks on errors")
    parser.add_argument("--root", metavar="DIR", help="repository root (default: the folder holding use_cases/)")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    by_name: dict[str, ModuleType] = {}
    for module in _modules():
        aliases = getattr(module, "ALIASES", ())
        # Only the first letter raised: str.capitalize() lowers the rest ("LLM", "API", "JSON" came out "llm"...).
        description = module.HELP[:1].upper() + module.HELP[1:] + "."
        cmd = sub.add_parser(module.NAME, aliases=aliases, help=module.HELP, description=description,
                             epilog=f"example:\n  {module.EXAMPLE}",
                             formatter_class=argparse.RawDescriptionHelpFormatter)
        module.configure(cmd)
        by_name.update(dict.fromkeys((module.NAME, *aliases), module))
    return parser, by_name


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s" if not verbose else "%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("llmops").setLevel(logging.DEBUG if verbose else logging.INFO)


def main(argv: list[str] | None = None) -> int:
    parser, commands = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code or 0)
    if not args.command:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    _setup_logging(args.verbose)
    try:
        return int(commands[args.command].run(args))
    except ConfigError as exc:
        for problem in exc.problems:
            sys.stderr.write(f"{problem}\n")
        sys.stderr.write(f"error: {len(exc.problems)} config problem(s); fix them and run again "
                         "('llmops validate' lists them all)\n")
        return exc.exit_code
    except LlmopsError as exc:
        if args.verbose:
            logging.getLogger("llmops").exception("details")
        sys.stderr.write(f"{'error: ' if exc.exit_code else ''}{exc}\n")
        return exc.exit_code
    except KeyboardInterrupt as exc:  # a backend whose work goes on says where (an Azure ML job), else:
        sys.stderr.write(f"{str(exc) or 'interrupted; finished work is kept, run the command again to resume'}\n")
        return 130
    except Exception as exc:
        if args.verbose:
            raise
        sys.stderr.write(f"error: unexpected {type(exc).__name__}: {exc}\n{_known_fix(args, exc)}"
                         "rerun with --verbose for the traceback\n")
        return EXIT_USER_ERROR


def _known_fix(args: argparse.Namespace, exc: Exception) -> str:
    """The fix of a known cause that failed a whole run, not single lines (a flow importing a missing module)."""
    from llmops.report.failures import FailureContext, fix_for

    fix = fix_for(str(exc), FailureContext(getattr(args, "use_case", None) or "", getattr(args, "env", None) or ""))
    return f"fix: {fix}\n" if fix else ""
