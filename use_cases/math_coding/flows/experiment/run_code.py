"""Run the generated program in the sandbox (sandbox.py): a separate process with a time limit, a memory
limit, no network and a throwaway folder.

Whatever the program does, the node returns: a program that loops, allocates without bound or opens a
socket is stopped, and its line gets an empty answer with the reason in the flow's `status` and `error`
outputs. Such a line is the model's wrong answer, so it counts against the variant's accuracy: it is not
a failed line (which llmops would run again on the next run, as it does after a provider outage).
"""

from __future__ import annotations

from promptflow.core import tool
from sandbox import SandboxLimits, run_snippet

NO_CODE = "no_code"


@tool
def run_code(code: str, time_limit_seconds: float = 5.0, memory_limit_mb: int = 256) -> dict[str, str]:
    if not code.strip():
        return {"status": NO_CODE, "reason": "the answer held no program", "stdout": ""}
    result = run_snippet(code, SandboxLimits(time_seconds=float(time_limit_seconds), memory_mb=int(memory_limit_mb)))
    return {"status": result.status, "reason": result.reason, "stdout": result.stdout}
