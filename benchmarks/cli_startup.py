"""Wall time of `llmops --help`, against a bare interpreter start measured in the same run.

Help is what a user types first and what every shell completion runs: it imports the command modules
but none of the heavy packages (prompt flow, the Azure SDK, pandas; tests/unit/test_cli.py checks that).
Each run is a fresh process, as a user's is; the runs alternate so both see the same machine load.

    .venv/bin/python benchmarks/cli_startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 0.5  # llmops --help, whole process


def wall_seconds(command: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # this checkout's llmops
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    commands = {"python -c pass": [sys.executable, "-c", "pass"],
                "llmops --help": [sys.executable, "-m", "llmops", "--help"]}
    for command in commands.values():  # warm the file cache and the bytecode
        wall_seconds(command)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            times[name].append(wall_seconds(command))
    print(f"{args.runs} runs each, alternating; {os.cpu_count()} cores")
    print(f"{'command':<16} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, seconds in times.items():
        print(f"{name:<16} {statistics.median(seconds):>9.3f} {min(seconds):>7.3f} {max(seconds):>7.3f}")
    help_s, bare_s = statistics.median(times["llmops --help"]), statistics.median(times["python -c pass"])
    print(f"llmops --help adds {help_s - bare_s:.3f} s to an interpreter start (median); "
          f"ratio {help_s / bare_s:.1f}x")
    print(f"target llmops --help < {TARGET_SECONDS} s: {'met' if help_s < TARGET_SECONDS else 'NOT met'}")


if __name__ == "__main__":
    main()
