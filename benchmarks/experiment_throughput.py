"""Experiment throughput on a flow with one LLM node: 200 lines x 4 variants against the gateway's
simulated upstream (100 ms per call), concurrency 16.

    .venv/bin/python benchmarks/experiment_throughput.py [--lines 200] [--latency 0.1] [--skip-pf]

Prints our wall time against the ideal (distinct LLM calls x latency / concurrency) and against
prompt flow's own batch runs (`pf run`, one per variant, same worker count, same gateway).
Target (issue 3): within 1.2x of the ideal and at least 3x faster than `pf run`.

Importing prompt flow's engine costs about 1.3 s once per process, whatever runs after it; on a 5 s
workload that alone is a quarter of the ideal. So the engine is imported before the clock starts
(as the `pf run` timing starts after its client is created), and the import time is printed beside
the end-to-end ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests.support

from llmops.backends.local.engine.run_execution import lines_in_flight  # noqa: E402
from tests.support import generated_use_case  # noqa: E402
from tests.support.in_flight import InFlight  # noqa: E402

VARIANTS = 4
NAME = "throughput"


def import_engine(root: Path) -> float:
    from llmops.backends.local.engine.promptflow_env import configure_promptflow

    configure_promptflow(root / ".llmops")  # before the import, as a real run does: it reads its log level then
    started = time.perf_counter()
    import promptflow.executor  # noqa: F401
    import promptflow.tools.aoai  # noqa: F401

    return time.perf_counter() - started


def ours(root: Path, latency: float) -> tuple[float, int]:
    from llmops.config.use_case import load_use_case
    from llmops.config.workspace import Workspace
    from llmops.llm.open_session import open_session
    from llmops.steps.experiment import experiment
    from llmops.steps.register_data import register_data

    ws = Workspace.find(root)
    uc = load_use_case(ws, NAME, check=False)
    register_data(ws, uc, "bench")
    flow = uc.standard_flow("bench")
    # The calls in flight: the use case's CONCURRENCY, written as `concurrency` by generated_use_case.
    with open_session(ws, uc, "bench", [flow], provider="simulated", simulated_latency_s=latency, cache=False,
                      environ={}) as session:
        started = time.perf_counter()
        result = experiment(ws, uc, "bench", session, variants="each")
        elapsed = time.perf_counter() - started
        session.gateway.flush()
    failed = sum(r.record.lines_failed for r in result.runs)
    return elapsed, failed


def pf_runs(root: Path, latency: float, workers: int) -> float:
    """`pf run` once per variant, its LLM node pointed at the same gateway and simulated upstream."""
    from promptflow.client import PFClient
    from promptflow.entities import AzureOpenAIConnection

    from llmops.llm.gateway import Gateway, Tag, Upstream

    os.environ["PF_WORKER_COUNT"] = str(workers)
    folder = root / "use_cases" / NAME
    upstream = Upstream(name="simulated", kind="simulated", simulated_latency_s=latency, max_concurrency=256)
    pf = PFClient()
    with Gateway({"aoai": upstream}) as gateway:
        url = gateway.route("aoai", "azure", Tag(run="pf-run"))
        pf.connections.create_or_update(AzureOpenAIConnection(name="aoai", api_key=gateway.token, api_base=url,
                                                              api_type="azure", api_version="2024-02-01"))
        started = time.perf_counter()
        for i in range(VARIANTS):
            run = pf.run(flow=str(folder / "flows/standard"), data=str(folder / "data/lines.jsonl"),
                         column_mapping={"text": "${data.text}"}, variant=f"${{answer.variant_{i}}}", stream=False)
            assert run.status == "Completed", run.status
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--skip-pf", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ.update(PF_HOME_DIRECTORY=str(root / "pf"), PF_TRACING_SKIP_LOCAL_SETUP="true",
                          PF_DISABLE_TRACING="true", PROMPTFLOW_DISABLE_TELEMETRY="true")
        rows = [{"text": f"question number {i}"} for i in range(args.lines)]
        generated_use_case.write(root, NAME, rows, llm_variants=VARIANTS, concurrency=args.concurrency)
        calls = args.lines * VARIANTS
        ideal = calls * args.latency / args.concurrency
        t_import = import_engine(root)
        from llmops.llm.gateway.simulated import SimulatedTransport

        in_flight = InFlight()  # the calls the simulated upstream answers at once: proof that the limit held
        SimulatedTransport.send = in_flight.counting(SimulatedTransport.send)  # type: ignore[method-assign]
        t_ours, failed = ours(root, args.latency)
        print(f"{args.lines} lines x {VARIANTS} variants = {calls} distinct LLM calls at {args.latency * 1000:.0f} ms, "
              f"concurrency {args.concurrency}")
        print(f"ideal:   {ideal:7.2f} s")
        print(f"ours:    {t_ours:7.2f} s  ({t_ours / ideal:.2f}x ideal, {failed} failed lines; at most "
              f"{in_flight.peak} LLM calls in flight, {lines_in_flight(args.concurrency)} lines)")
        end_to_end = (t_ours + t_import) / ideal
        print(f"  + engine import once per process {t_import:.2f} s: {end_to_end:.2f}x ideal end to end")
        if not args.skip_pf:
            t_pf = pf_runs(root, args.latency, args.concurrency)
            print(f"pf run:  {t_pf:7.2f} s  ({t_pf / ideal:.2f}x ideal; ours is {t_pf / t_ours:.1f}x faster)")


if __name__ == "__main__":
    main()
