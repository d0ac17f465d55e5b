"""One worker process of a parallel node: the entry-script contract of an Azure ML parallel job.

Run as a script (no package imports, so it starts fast). It imports the entry script, calls its
`init()` once, then `run(mini_batch)` for each mini-batch the coordinator sends, and `shutdown()` if
the script has one. `run` gets a list of file paths, or a pandas DataFrame for a tabular input; a
`run(mini_batch, context)` with two parameters also gets the mini-batch's index.

The coordinator speaks JSON lines: it writes mini-batches to stdin; this process answers on the
original stdout, which it keeps for itself: anything the user's code prints goes to stderr (the
process log).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import signal
import sys
import traceback
from dataclasses import dataclass
from typing import Any


@dataclass
class MiniBatchContext:
    minibatch_index: int
    partition_key_value: dict[str, Any] | None = None


def _rows(result: Any) -> list[str]:
    """What `run` returned as append_row lines: one per list element, or one per DataFrame row."""
    if result is None:
        return []
    if hasattr(result, "itertuples"):
        return [" ".join(str(value) for value in row) for row in result.itertuples(index=False, name=None)]
    return [
        item if isinstance(item, str) else json.dumps(item) if isinstance(item, dict) else str(item) for item in result
    ]


def main() -> None:
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # from here on, fd 1 (print) is the process log

    def say(message: dict[str, Any]) -> None:
        protocol.write(json.dumps(message) + "\n")

    entry = os.environ["AZUREML_EMULATOR_ENTRY_SCRIPT"]
    sys.argv = [entry, *json.loads(os.environ["AZUREML_EMULATOR_PROGRAM_ARGUMENTS"])]
    sys.path.insert(0, os.path.dirname(entry))
    try:
        spec = importlib.util.spec_from_file_location("entry_script", entry)
        assert spec and spec.loader
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        if hasattr(script, "init"):
            script.init()
    except BaseException:
        say({"init_error": traceback.format_exc()})
        raise SystemExit(1) from None
    takes_context = len(inspect.signature(script.run).parameters) >= 2
    say({"ready": True})

    for line in sys.stdin:
        message = json.loads(line)
        if message.get("stop"):
            break
        items: Any = message["items"]
        if message["kind"] == "rows":
            import pandas

            items = pandas.DataFrame.from_records(items)
        try:
            args = (items, MiniBatchContext(message["index"])) if takes_context else (items,)
            rows = _rows(script.run(*args))
        except Exception:
            say({"index": message["index"], "error": traceback.format_exc()})
            continue
        if message.get("die"):
            # The fault a test asked for: this process dies with the mini-batch done but not reported.
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        say({"index": message["index"], "rows": rows})

    if hasattr(script, "shutdown"):
        script.shutdown()


if __name__ == "__main__":
    main()
