"""The entry script contract of an Azure ML parallel job: init() once per worker process, run(mini_batch) per
mini-batch, shutdown() at the end. The bundle's own entry script (ENTRY_SCRIPT) only imports these.

`sys.argv` carries `--accounting <folder>`, the job's second output, where each worker appends the LLM calls
it made. What run() returns, one JSON string per line, the job appends to its results output
(append_row_to): that file is how lines come back to the laptop.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from llmops.backends.azureml.node.worker import Worker

ENTRY_SCRIPT_NAME = "llmops_entry.py"
ENTRY_SCRIPT = (
    '"""Azure ML parallel job entry script: the llmops engine runs each mini-batch of lines."""\n\n'
    "from llmops.backends.azureml.node.entry import init, run, shutdown  # noqa: F401\n"
)
_worker: Worker | None = None


def _bundle() -> Path:
    """The job's code folder: the one holding the llmops package this module was imported from."""
    return Path(__file__).resolve().parents[4]


def init() -> None:
    global _worker
    parser = argparse.ArgumentParser(prog=ENTRY_SCRIPT_NAME)
    parser.add_argument("--accounting", required=True)
    args, _ = parser.parse_known_args(sys.argv[1:])
    handler = logging.StreamHandler(sys.stderr)  # the worker's log in the job's logs
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    logging.getLogger("llmops").addHandler(handler)
    logging.getLogger("llmops").setLevel(logging.INFO)
    _worker = Worker(_bundle(), Path(args.accounting))


def run(mini_batch: list[str]) -> list[str]:
    assert _worker is not None, "init() was not called"
    return _worker.run([str(path) for path in mini_batch])


def shutdown() -> None:
    if _worker is not None:
        _worker.stop()
