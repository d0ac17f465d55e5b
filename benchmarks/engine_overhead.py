"""Per-line overhead of our engine (prompt flow's in-process executor under our line runner, with the
registry writes of a real experiment) against prompt flow's own batch engine (`pf run`).

    .venv/bin/python benchmarks/engine_overhead.py [--sizes 1000,10000,50000] [--pf-sizes 1000,10000]

Target (issue 3): under 2 ms per line at every size (linear), where `pf run` grows near quadratically.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests.support

from tests.support import generated_use_case  # noqa: E402


def ours(root: Path, name: str) -> float:
    from llmops.config.use_case import load_use_case
    from llmops.config.workspace import Workspace
    from llmops.llm.open_session import open_session
    from llmops.steps.experiment import experiment
    from llmops.steps.register_data import register_data

    ws = Workspace.find(root)
    uc = load_use_case(ws, name, check=False)
    register_data(ws, uc, "bench")
    with open_session(ws, uc, "bench", [uc.standard_flow("bench")], provider="simulated", environ={}) as session:
        started = time.perf_counter()
        result = experiment(ws, uc, "bench", session, variants="defaults")
        elapsed = time.perf_counter() - started
    assert result.runs[0].record.lines_failed == 0
    return elapsed


def pf_run(root: Path, name: str, workers: int) -> float:
    from promptflow.client import PFClient

    os.environ["PF_WORKER_COUNT"] = str(workers)
    folder = root / "use_cases" / name
    started = time.perf_counter()
    run = PFClient().run(flow=str(folder / "flows/standard"), data=str(folder / "data/lines.jsonl"),
                         column_mapping={"x": "${data.x}"}, stream=False)
    elapsed = time.perf_counter() - started
    assert run.status == "Completed", run.status
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--pf-sizes", default="1000,10000")
    parser.add_argument("--pf-workers", type=int, default=8)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    pf_sizes = {int(s) for s in args.pf_sizes.split(",") if s}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ.update(PF_HOME_DIRECTORY=str(root / "pf"), PF_TRACING_SKIP_LOCAL_SETUP="true",
                          PF_DISABLE_TRACING="true", PROMPTFLOW_DISABLE_TELEMETRY="true")
        print(f"{'lines':>8} {'ours s':>8} {'ours ms/line':>13} {'pf run s':>9} {'pf ms/line':>11} {'pf / ours':>9}")
        for n in sizes:
            name = f"py{n}"
            generated_use_case.write(root, name, [{"x": i} for i in range(n)])
            t_ours = ours(root, name)
            row = f"{n:>8} {t_ours:>8.2f} {1000 * t_ours / n:>13.3f}"
            if n in pf_sizes:
                t_pf = pf_run(root, name, args.pf_workers)
                row += f" {t_pf:>9.2f} {1000 * t_pf / n:>11.3f} {t_pf / t_ours:>8.1f}x"
            print(row, flush=True)


if __name__ == "__main__":
    main()
