"""A command (a command job, or a command node of a pipeline) run as a local process."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

from .bindings import substitute
from .inputs import JobFailure, LocalInput


class Canceled(Exception):
    """The job was canceled while it ran."""


def run_command(
    command: str,
    code: Path,
    inputs: dict[str, LocalInput],
    outputs: dict[str, Path],
    env: dict[str, str],
    log: Path,
    cancel: threading.Event,
    timeout: float | None = None,
) -> None:
    """Runs `command` (its `${{inputs.x}}` and `${{outputs.y}}` bound to local paths) in `code`."""
    values = {f"inputs.{name}": local.value for name, local in inputs.items()}
    values.update({f"outputs.{name}": str(path) for name, path in outputs.items()})
    for path in outputs.values():
        path.mkdir(parents=True, exist_ok=True)
    try:
        text = substitute(command, values)
    except KeyError as error:
        raise JobFailure(str(error.args[0])) from error
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("ab") as out:
        process = subprocess.Popen(
            ["bash", "-c", text], cwd=code, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        while process.poll() is None:
            if cancel.wait(0.05):
                process.kill()
                process.wait()
                raise Canceled
            if timeout and time.monotonic() - started > timeout:
                process.kill()
                process.wait()
                raise JobFailure(f"The job ran longer than its timeout of {timeout:.0f} seconds and was stopped.")
    if process.returncode != 0:
        raise JobFailure(
            f"Execution failed. User process 'bash -c {command.split()[0]}' exited with status code "
            f"{process.returncode}. Please check log file 'user_logs/std_log.txt' for error details."
        )
