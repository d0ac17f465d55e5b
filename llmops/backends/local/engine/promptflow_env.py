"""Keep prompt flow local and quiet: its home under our state directory, no trace service, no telemetry."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from llmops.backends.local.engine.atomic_file import write_atomically
from llmops.backends.promptflow_switches import LOCAL_ONLY_ENVIRONMENT

logger = logging.getLogger(__name__)
_QUIET_LOGGERS = ("execution", "execution.flow", "execution.bulk", "promptflow", "flowinvoker")

# Prompt flow reads these from its home's pf.yaml (what `pf config set` writes): telemetry off (it
# otherwise posts to a public endpoint) and no local trace service. The installation id is written
# here, one fixed value, because prompt flow otherwise adds it itself with a plain read-modify-write:
# processes starting together (the nodes of a job, two commands) interleave their writes into a
# pf.yaml with a duplicate key, which every later prompt flow import refuses to parse.
PF_CONFIG = ("telemetry:\n  enabled: 'false'\ntrace:\n  destination: none\n"
             "cli:\n  installation_id: 5f0c6f7e-2b1a-5c3e-9d4a-6c6c6d6f7073\n")


def promptflow_log_level() -> str:
    """WARNING with --verbose (llmops logs debug), else CRITICAL.

    Prompt flow logs every failed node with its traceback, a few per failed line: 60 tracebacks for
    a 10-line run during a provider outage. Each line keeps its failure text in the registry and the
    report, so the terminal gets those logs only when asked for. Its execution loggers are made
    outside logging's registry (logging.getLogger cannot reach them) and take their level from
    PF_LOGGING_LEVEL when prompt flow is imported, so the level is set through the environment.
    """
    return "WARNING" if logger.isEnabledFor(logging.DEBUG) else "CRITICAL"


def configure_promptflow(state_dir: Path) -> Path:
    home = state_dir / "promptflow"
    config = home / "pf.yaml"
    if not config.is_file() or config.read_text(encoding="utf-8") != PF_CONFIG:
        write_atomically(config, PF_CONFIG)  # atomically: another command may be reading it
    # Set before prompt flow is imported: it reads them at import time. The home is this state
    # directory's even when the environment names another: subprocesses (a job's nodes, the
    # endpoint) inherit it, and a home shared across state directories is written by all of them.
    os.environ["PF_HOME_DIRECTORY"] = str(home)
    for name, value in LOCAL_ONLY_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    level = promptflow_log_level()
    os.environ.setdefault("PF_LOGGING_LEVEL", level)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(level)
    return home
