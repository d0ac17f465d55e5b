"""What math_coding's sandbox costs per program, against running the same program without one.

Four ways to run the same short program (a sum over 1..100, printed), one after another:
  exec       in this process, `exec` with stdout captured (what the original template does: no isolation)
  python     a bare `python -I -S -c PROGRAM` child, output through a pipe (a process, nothing else)
  sandbox    `run_snippet`: child process, limits, network namespace, audit hook, throwaway folder
  threads    `run_snippet` from 4 threads at once, as prompt flow's executor runs lines

    .venv/bin/python benchmarks/sandbox_overhead.py [--calls 50]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import subprocess
import sys
from pathlib import Path

from _latency import percentiles, run_threads  # benchmarks/ is the script's folder

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "use_cases/math_coding/flows/experiment"))
from sandbox import OK, run_snippet  # noqa: E402 - a module of the flow folder, found by the line above

PROGRAM = "total = sum(range(1, 101))\nprint(total)\n"


def in_process(_: int) -> None:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(PROGRAM, {"__name__": "__main__"})  # noqa: S102 - the baseline the sandbox replaces
    assert buffer.getvalue() == "5050\n"


def bare_process(_: int) -> None:
    done = subprocess.run([sys.executable, "-I", "-S", "-c", PROGRAM], capture_output=True, text=True, check=True)
    assert done.stdout == "5050\n"


def sandboxed(_: int) -> None:
    result = run_snippet(PROGRAM)
    assert result.status == OK and result.stdout == "5050\n", result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    phases = [("exec", 1, in_process), ("python", 1, bare_process), ("sandbox", 1, sandboxed),
              ("threads", 4, sandboxed)]
    medians: dict[str, float] = {}
    print(f"{'phase':8} {'threads':>7} {'calls':>6} {'p50 ms':>8} {'p99 ms':>8} {'calls/s':>8}")
    for name, concurrency, call in phases:
        calls = max(1, args.calls // concurrency)
        latencies, wall = run_threads(concurrency, calls, lambda _worker, call=call: call)  # type: ignore[misc]
        p50, p99 = percentiles(latencies)
        medians[name] = p50
        print(f"{name:8} {concurrency:>7} {concurrency * calls:>6} {p50:>8.1f} {p99:>8.1f} "
              f"{concurrency * calls / wall:>8.1f}")
    print(f"sandbox p50 = {medians['sandbox'] / medians['python']:.2f}x a bare python child "
          f"(+{medians['sandbox'] - medians['python']:.1f} ms), +{medians['sandbox'] - medians['exec']:.1f} ms "
          f"over exec in process")


if __name__ == "__main__":
    main()
